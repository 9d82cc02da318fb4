using System.Collections.Concurrent;
using System.Globalization;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.LoadTests.Harness;
using Grpc.Core;
using Verification.Api;

namespace Verification.LoadTests.Scenarios;

/// <summary>Who a loan's borrower is, and so which answer is right.</summary>
public enum BorrowerKind
{
    /// <summary>Enrolled before the load (bank-bni), to be found covered later: ENROLLED.</summary>
    Setup,

    /// <summary>Never seen before: ENROLLED with a participant number.</summary>
    Fresh,

    /// <summary>A setup borrower under a new loan: ALREADY_COVERED.</summary>
    PreCovered,
}

/// <summary>One loan a bank asked about, what it expects, and the first answer it got.</summary>
public sealed class Loan(string member, EnrolBorrowerRequest request, BorrowerKind kind)
{
    public string Member { get; } = member;
    public EnrolBorrowerRequest Request { get; } = request;
    public BorrowerKind Kind { get; } = kind;
    public string Nik => Request.Borrower.Nik;
    public EnrolBorrowerResponse? First { get; set; }
    public int Answers { get; set; }
}

/// <summary>Everything the banks were told, checked as it arrives: nobody may get a wrong answer.</summary>
public sealed class KurLedger
{
    private readonly ConcurrentDictionary<(string BankCode, string LoanReference), Loan> loans = new();
    private readonly ConcurrentQueue<string> wrongAnswers = new();
    private readonly ConcurrentQueue<Loan> unresolved = new();
    private readonly Loan?[] answered = new Loan?[8192];
    private long answeredCount;

    public IReadOnlyCollection<Loan> Loans => (IReadOnlyCollection<Loan>)loans.Values;

    public IReadOnlyCollection<string> WrongAnswers => wrongAnswers;

    public void Add(Loan loan) => loans[(loan.Request.BankCode, loan.Request.LoanReference)] = loan;

    public Loan? Find(string bankCode, string loanReference) => loans.GetValueOrDefault((bankCode, loanReference));

    public void Unresolved(Loan loan) => unresolved.Enqueue(loan);

    public List<Loan> TakeUnresolved()
    {
        var taken = new List<Loan>();
        while (unresolved.TryDequeue(out var loan)) taken.Add(loan);
        return taken;
    }

    public int UnresolvedCount => unresolved.Count;

    /// <summary>A loan answered earlier, for a bank's retry of the same request.</summary>
    public Loan? RandomAnswered()
    {
        var count = Interlocked.Read(ref answeredCount);
        return count == 0 ? null : Volatile.Read(ref answered[Random.Shared.NextInt64(Math.Min(count, answered.Length))]);
    }

    public void Record(Loan loan, EnrolBorrowerResponse answer)
    {
        string? wrong = null;
        lock (loan)
        {
            loan.Answers++;
            if (loan.First is null)
            {
                loan.First = answer;
                wrong = loan.Kind switch
                {
                    BorrowerKind.Fresh or BorrowerKind.Setup when answer.Outcome != EnrolmentOutcome.Enrolled || answer.ParticipantNumber.Length == 0 =>
                        $"{Describe(loan)}: a borrower never covered was answered {answer.Outcome}",
                    BorrowerKind.PreCovered when answer.Outcome != EnrolmentOutcome.AlreadyCovered =>
                        $"{Describe(loan)}: a covered borrower was answered {answer.Outcome} (participant {answer.ParticipantNumber})",
                    _ => null,
                };
                var slot = Interlocked.Increment(ref answeredCount) - 1;
                Volatile.Write(ref answered[slot % answered.Length], loan);
            }
            else if (answer.Outcome != loan.First.Outcome || answer.ParticipantNumber != loan.First.ParticipantNumber)
            {
                wrong = $"{Describe(loan)}: a retry was answered {answer.Outcome} {answer.ParticipantNumber}, the first answer was {loan.First.Outcome} {loan.First.ParticipantNumber}";
            }
        }

        if (wrong is not null) wrongAnswers.Enqueue(wrong);
    }

    private static string Describe(Loan loan) => $"bank {loan.Request.BankCode} loan {loan.Request.LoanReference} ({loan.Kind})";
}

/// <summary>Distinct, valid borrowers (NIKs of Semarang, consistent birth dates) and loan references unique to the run.</summary>
public sealed class BorrowerSource(string runId)
{
    private long next;

    public EnrolBorrowerRequest NewLoan(string bankCode, Borrower? existing = null)
    {
        var n = Interlocked.Increment(ref next);
        var borrower = existing ?? NewBorrower(n);
        var disbursement = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7)).AddDays(30);
        return new EnrolBorrowerRequest
        {
            BankCode = bankCode,
            LoanReference = string.Create(CultureInfo.InvariantCulture, $"LT-{runId}-{n:D8}"),
            Scheme = KurScheme.Mikro,
            LoanAmountRupiah = 25_000_000,
            DisbursementDate = new Date { Year = disbursement.Year, Month = disbursement.Month, Day = disbursement.Day },
            Borrower = borrower,
        };
    }

    private static Borrower NewBorrower(long n)
    {
        var birth = new DateOnly(1970, 1, 1).AddDays((int)(n / 9999 % 10_000));
        return new Borrower
        {
            Nik = string.Create(CultureInfo.InvariantCulture, $"337401{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}"),
            FullName = "Peminjam Uji Beban",
            BirthDate = new Date { Year = birth.Year, Month = birth.Month, Day = birth.Day },
            Sex = Sex.Male,
            BusinessSector = "47111",
            RegionCode = "3374",
            DeclaredMonthlyIncomeRupiah = 2_500_000 + (n % 1000 * 1000),
        };
    }
}

/// <summary>
/// Banks bank-bri (002) and bank-bni (009) enrolling borrowers: mostly new borrowers, some already covered (enrolled
/// before the load, under a new loan), some retries of a loan already answered, some loans sent twice at once.
/// </summary>
public sealed class KurWorkload(Suite suite, BankCalls calls, KurLedger ledger, BorrowerSource borrowers)
{
    public KurLedger Ledger => ledger;

    public const string Rpc = "kur.EnrolBorrower";

    private static readonly (string Member, string BankCode)[] Banks = [("bank-bri", "002"), ("bank-bni", "009")];

    private readonly List<Borrower> covered = [];

    /// <summary>Enrols <paramref name="count"/> borrowers through bank-bni before the load: the ALREADY_COVERED pool.</summary>
    public async Task SetupAsync(int count, CancellationToken cancellationToken)
    {
        var client = new KurService.KurServiceClient(suite.Channel("kur", "bank-bni"));
        var setup = Enumerable.Range(0, count).Select(_ => new Loan("bank-bni", borrowers.NewLoan("009"), BorrowerKind.Setup)).ToList();
        await Parallel.ForEachAsync(setup, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (loan, ct) =>
        {
            ledger.Add(loan);
            await SendAsync(client, loan, ct);
        });
        covered.AddRange(setup.Where(l => l.First?.Outcome == EnrolmentOutcome.Enrolled).Select(l => l.Request.Borrower));
    }

    /// <summary>One bank caller: enrols until <paramref name="stopStarting"/>; an enrolment under way is finished (retried) even then.</summary>
    public async Task RunCallerAsync(int caller, CancellationToken stopStarting, CancellationToken cancellationToken)
    {
        var (member, bankCode) = Banks[caller % Banks.Length];
        var client = new KurService.KurServiceClient(suite.Channel("kur", member));
        while (!stopStarting.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var roll = Random.Shared.NextDouble();
            if (roll < 0.10 && ledger.RandomAnswered() is { } earlier)
            {
                await SendAsync(new KurService.KurServiceClient(suite.Channel("kur", earlier.Member)), earlier, cancellationToken);
            }
            else if (roll < 0.25 && covered.Count > 0)
            {
                var loan = new Loan(member, borrowers.NewLoan(bankCode, covered[Random.Shared.Next(covered.Count)]), BorrowerKind.PreCovered);
                ledger.Add(loan);
                await SendAsync(client, loan, cancellationToken);
            }
            else if (roll < 0.30)
            {
                // The same new loan twice at once, as a bank whose first call timed out on its side might.
                var loan = new Loan(member, borrowers.NewLoan(bankCode), BorrowerKind.Fresh);
                ledger.Add(loan);
                await Task.WhenAll(SendAsync(client, loan, cancellationToken), SendAsync(client, loan, cancellationToken));
            }
            else
            {
                var loan = new Loan(member, borrowers.NewLoan(bankCode), BorrowerKind.Fresh);
                ledger.Add(loan);
                await SendAsync(client, loan, cancellationToken);
            }
        }
    }

    /// <summary>A bank's reconciliation: every loan that ended in an error is sent again until answered.</summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var pending = ledger.TakeUnresolved().DistinctBy(l => (l.Request.BankCode, l.Request.LoanReference)).Where(l => l.First is null).ToList();
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (loan, ct) =>
            await SendAsync(new KurService.KurServiceClient(suite.Channel("kur", loan.Member)), loan, ct));
        return pending.Count;
    }

    private async Task SendAsync(KurService.KurServiceClient client, Loan loan, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await calls.CallAsync(Rpc, ct => client.EnrolBorrowerAsync(loan.Request, RpcCalls.WithTimeout(BankCalls.AttemptTimeout, ct)).ResponseAsync, cancellationToken);
            ledger.Record(loan, answer);
        }
        catch (RpcException)
        {
            ledger.Unresolved(loan);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
