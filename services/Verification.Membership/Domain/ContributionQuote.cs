namespace Verification.Membership.Domain;

/// <summary>What to quote: the programs asked for, for a segment, on a monthly income (BPU) or wage (PU) in whole rupiah.</summary>
/// <param name="Segment">PU or BPU; Jakon and PMI are not quoted yet.</param>
/// <param name="Programs">The programs to price. Which programs are mandatory is the caller's rule, not the quote's.</param>
/// <param name="MonthlyIncome">Declared monthly income (BPU) or monthly wage (PU), rupiah, not negative.</param>
/// <param name="RiskClass">The employer's JKK risk class 1–5; required when a PU quote includes JKK.</param>
/// <param name="On">The date whose rates apply.</param>
public sealed record ContributionQuoteRequest(
    ParticipantSegment Segment,
    IReadOnlyCollection<CoverageProgram> Programs,
    long MonthlyIncome,
    int? RiskClass,
    DateOnly On);

/// <summary>One program's monthly contribution in whole rupiah.</summary>
/// <param name="Program">The program priced.</param>
/// <param name="EmployerShare">Paid by the employer (always 0 for BPU).</param>
/// <param name="WorkerShare">Paid by the worker, or for BPU by the participant themself.</param>
/// <param name="FundedElsewhere">Paid by neither employer nor worker (JKP: central government and recomposition of JKK and JKM); for information, not in <see cref="Total"/>.</param>
public sealed record ProgramContribution(CoverageProgram Program, long EmployerShare, long WorkerShare, long FundedElsewhere)
{
    /// <summary>What the employer and the worker pay together.</summary>
    public long Total => EmployerShare + WorkerShare;
}

/// <summary>Why (part of) a quote cannot be given; <see cref="Program"/> is null when the whole request is at fault.</summary>
public sealed record QuoteProblem(CoverageProgram? Program, string Code, string Description);

/// <summary>
/// A monthly contribution quote: per program employer share, worker share and total, and grand totals,
/// in whole rupiah. Every share is rounded half up to whole rupiah on its own (see
/// <see cref="ContributionShareRule.AmountFor"/>); totals are sums of rounded shares, so they always add up.
/// BPU participants pay everything themselves, so their quote has worker shares only.
/// </summary>
public sealed record ContributionQuote(
    ParticipantSegment Segment,
    DateOnly On,
    long MonthlyIncome,
    IReadOnlyList<ProgramContribution> Programs)
{
    public long EmployerTotal => Programs.Sum(p => p.EmployerShare);

    public long WorkerTotal => Programs.Sum(p => p.WorkerShare);

    /// <summary>Everything the employer and the worker pay for the month.</summary>
    public long Total => EmployerTotal + WorkerTotal;

    public long FundedElsewhereTotal => Programs.Sum(p => p.FundedElsewhere);

    /// <summary>The quote, or every problem with the request; a request with any problem gets no partial quote.</summary>
    public static ContributionQuoteResult Compute(ContributionQuoteRequest request, ContributionRateTable table)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(table);

        // Jakon is priced on project value and PMI on fixed packages: a wage-based quote would invent rates.
        if (request.Segment is not (ParticipantSegment.Pu or ParticipantSegment.Bpu))
        {
            return ContributionQuoteResult.Failed(new QuoteProblem(
                null, "SEGMENT_NOT_SUPPORTED", $"Quotes for {Name(request.Segment)} participants are not supported by this quote yet."));
        }

        var problems = new List<QuoteProblem>();
        if (request.MonthlyIncome < 0)
        {
            problems.Add(new(null, "INCOME_NEGATIVE", "The monthly income or wage cannot be negative."));
        }

        if (request.Programs is null || request.Programs.Count == 0)
        {
            problems.Add(new(null, "PROGRAMS_EMPTY", "Name at least one program to quote."));
        }

        if (request.RiskClass is < 1 or > 5)
        {
            problems.Add(new(null, "RISK_CLASS_OUT_OF_RANGE", "The JKK risk class is 1 to 5."));
        }

        if (problems.Count > 0)
        {
            return ContributionQuoteResult.Failed([.. problems]);
        }

        var schedule = table.InForceOn(request.On);
        var lines = new List<ProgramContribution>();
        foreach (var program in request.Programs!.Distinct().Order())
        {
            var line = Price(request, program, table, schedule, out var problem);
            if (problem is not null)
            {
                problems.Add(problem);
            }
            else
            {
                lines.Add(line!);
            }
        }

        return problems.Count > 0
            ? ContributionQuoteResult.Failed([.. problems])
            : ContributionQuoteResult.Succeeded(new ContributionQuote(request.Segment, request.On, request.MonthlyIncome, lines));
    }

    private static ProgramContribution? Price(
        ContributionQuoteRequest request,
        CoverageProgram program,
        ContributionRateTable table,
        ContributionSchedule schedule,
        out QuoteProblem? problem)
    {
        var segment = request.Segment;
        problem = null;
        if (!table.Offers(segment, program))
        {
            problem = new(program, "PROGRAM_NOT_AVAILABLE", $"{Name(segment)} participants cannot join {Name(program)}.");
            return null;
        }

        int? riskClass = null;
        if (table.IsRiskClassed(segment, program))
        {
            if (request.RiskClass is null)
            {
                problem = new(program, "RISK_CLASS_REQUIRED", $"{Name(program)} for {Name(segment)} participants needs the employer's risk class (1 to 5).");
                return null;
            }

            riskClass = request.RiskClass;
        }

        if (schedule.RuleFor(segment, program, riskClass) is not { } rule)
        {
            problem = new(program, "NO_RATE_IN_FORCE", $"No {Name(program)} rate for {Name(segment)} participants was in force on {request.On:yyyy-MM-dd}.");
            return null;
        }

        var basis = request.MonthlyIncome;
        if (table.IsWageCapped(segment, program))
        {
            if (schedule.WageCapFor(segment, program) is not { } cap)
            {
                problem = new(program, "NO_WAGE_CAP_IN_FORCE", $"No {Name(program)} wage cap was in force on {request.On:yyyy-MM-dd}.");
                return null;
            }

            basis = Math.Min(basis, cap.Amount);
        }

        return new ProgramContribution(
            program,
            rule.Employer?.AmountFor(basis) ?? 0,
            rule.Worker?.AmountFor(basis) ?? 0,
            rule.FundedElsewhere?.AmountFor(basis) ?? 0);
    }

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToUpperInvariant();
}

/// <summary>Either a quote or the problems that prevent one.</summary>
public sealed record ContributionQuoteResult
{
    private ContributionQuoteResult(ContributionQuote? quote, IReadOnlyList<QuoteProblem> problems) => (Quote, Problems) = (quote, problems);

    public ContributionQuote? Quote { get; }

    public IReadOnlyList<QuoteProblem> Problems { get; }

    public bool IsSuccess => Quote is not null;

    internal static ContributionQuoteResult Succeeded(ContributionQuote quote) => new(quote, []);

    internal static ContributionQuoteResult Failed(params QuoteProblem[] problems) => new(null, problems);
}
