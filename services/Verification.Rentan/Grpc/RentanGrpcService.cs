using System.Runtime.CompilerServices;
using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Domain;
using Verification.Platform.Access;
using Verification.Rentan.Data;
using Verification.Rentan.Features;
using Verification.Rentan.Features.Enrol;
using Verification.Rentan.Features.Extracts;
using Verification.Rentan.Features.Money;
using Verification.Rentan.Features.Renewal;
using Verification.Rentan.Features.Sponsors;

namespace Verification.Rentan.Grpc;

/// <summary>
/// <c>verification.rentan.v1.RentanService</c>: check the caller (an administrator, or the sponsor itself), validate, call
/// the feature, map the answer. A sponsor naming another sponsor, or a row of a region outside its reach, is
/// PERMISSION_DENIED and audited (for a list or an extract, once per regency per call).
/// </summary>
public sealed class RentanGrpcService(
    SponsorAdministration administration,
    ExtractUpload extracts,
    WorkerEnrolment enrolment,
    AnnualUpdate annualUpdate,
    Invoice invoices,
    RentanStore store,
    MemberDirectory members,
    AccessDenials denials,
    ItemBudget budget,
    RentanSettings settings,
    TimeProvider time) : RentanService.RentanServiceBase
{
    private const string ErrorDomain = "verification.bpjsketenagakerjaan.go.id";

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    [RpcRoles(MemberRole.Administrator)]
    public override async Task<RegisterSponsorResponse> RegisterSponsor(RegisterSponsorRequest request, ServerCallContext context)
    {
        var command = Requests().Sponsor(request, context.Member().Code, context.CorrelationId());
        var saved = Saved(await administration.RegisterSponsorAsync(command, context.CancellationToken));
        return new RegisterSponsorResponse { Sponsor = RentanMapping.ToApi(saved) };
    }

    [RpcRoles(MemberRole.Administrator, MemberRole.Sponsor)]
    public override async Task<GetSponsorResponse> GetSponsor(GetSponsorRequest request, ServerCallContext context)
    {
        var scope = await ScopeAsync(request.SponsorCode, null, context);
        return new GetSponsorResponse { Sponsor = RentanMapping.ToApi(scope.Sponsor) };
    }

    [RpcRoles(MemberRole.Administrator)]
    public override async Task<SaveAgreementResponse> SaveAgreement(SaveAgreementRequest request, ServerCallContext context)
    {
        var command = Requests().Agreement(request, context.Member().Code, context.CorrelationId());
        var saved = Saved(await administration.SaveAgreementAsync(command, context.CancellationToken));
        return new SaveAgreementResponse { Agreement = await AgreementAsync(saved.AgreementId, context.CancellationToken) };
    }

    [RpcRoles(MemberRole.Administrator, MemberRole.Sponsor)]
    public override async Task<GetAgreementResponse> GetAgreement(GetAgreementRequest request, ServerCallContext context)
    {
        var scope = await ScopeAsync(request.SponsorCode, request.Year, context);
        return new GetAgreementResponse { Agreement = await AgreementAsync(AgreementRecord.IdOf(scope.SponsorCode, request.Year), context.CancellationToken) };
    }

    [RpcRoles(MemberRole.Sponsor)]
    public override async Task UploadExtract(IAsyncStreamReader<UploadExtractRequest> requestStream, IServerStreamWriter<UploadExtractResponse> responseStream, ServerCallContext context)
    {
        var first = await requestStream.MoveNext(context.CancellationToken) ? requestStream.Current : null;
        var extractDate = Requests().ExtractHeader(first?.Header);
        var scope = await ScopeAsync(first!.Header.SponsorCode, null, context);
        var summary = await extracts.RunAsync(scope.SponsorCode, extractDate, ExtractRowsAsync(requestStream, scope, context), context.Member().Code, context.CorrelationId(),
            (rejection, ct) => responseStream.WriteAsync(new UploadExtractResponse { Rejected = RentanMapping.ToApi(rejection) }, ct), context.CancellationToken);
        await responseStream.WriteAsync(new UploadExtractResponse { Summary = RentanMapping.ToApi(summary) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Sponsor)]
    public override async Task EnrolWorkers(IAsyncStreamReader<EnrolWorkersRequest> requestStream, IServerStreamWriter<EnrolWorkersResponse> responseStream, ServerCallContext context)
    {
        var first = await requestStream.MoveNext(context.CancellationToken) ? requestStream.Current : null;
        var (sponsorCode, agreementId) = Requests().EnrolmentHeader(first?.Header);
        var scope = await ScopeAsync(sponsorCode, null, context, agreementId);

        // The list is decided as a whole (poorest first), so it is read whole before anything is written.
        var today = time.JakartaToday();
        var rows = new List<ListRow>();
        var seen = new HashSet<long>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            // Each row is charged to the member's item budget: over it the list is read slower, then refused whole.
            await budget.ChargeAsync(context, 1, "nothing of this list was enrolled. Send it again after the given delay.", context.CancellationToken);
            var message = requestStream.Current;
            if (message.PartCase != EnrolWorkersRequest.PartOneofCase.Row)
                throw Invalid("header", "HEADER_REPEATED", "The header is the first message of a list, exactly once; then one row per message.");
            if (rows.Count == settings.MaxListRows)
                throw Invalid("row", "LIST_TOO_LONG", $"A list has at most {settings.MaxListRows} rows: send the rest in another list.");
            var row = new RentanRequests(today).WorkerRow(message.Row);
            if (row is ListRow.Valid valid && !seen.Add(valid.Worker.NikNumber))
                row = new ListRow.Invalid(row.RowId, [new FieldViolation("row.nik", "NIK_DUPLICATE_IN_LIST", "This NIK is on an earlier row of the same list.")]);
            rows.Add(row);
        }

        var done = await enrolment.EnrolAsync(scope, agreementId, rows, context.Member().Code, context.CorrelationId(), context.CancellationToken) switch
        {
            EnrolmentResult.Done answer => answer,
            EnrolmentResult.AgreementNotFound => throw RpcErrors.Of(StatusCode.NotFound, "The sponsor has no agreement with this id."),
            EnrolmentResult.AgreementNotInForce => throw Precondition("AGREEMENT_NOT_IN_FORCE", "The agreement is not in force today: workers are enrolled between its start and end."),
            EnrolmentResult.NoExtract => throw Precondition("NO_EXTRACT", "The sponsor has no complete DTSEN extract: upload one first."),
            EnrolmentResult.NoRates noRates => throw Precondition("NO_RATES_FOR_MONTH", noRates.Message),
            var other => throw new InvalidOperationException($"Unexpected enrolment result {other.GetType().Name}."),
        };

        foreach (var regency in done.Answers.Select(a => a.Outcome).OfType<WorkerOutcome.OutsideRegion>().Select(o => o.RegencyCode).Distinct(StringComparer.Ordinal))
        {
            await denials.RecordAsync(context, "REGION_NOT_SPONSORS", $"worker domiciled in regency {regency}, outside the sponsor's regions",
                new DeniedResource(BatchId: agreementId), context.CancellationToken);
        }

        for (var i = 0; i < done.Answers.Count; i++)
        {
            responseStream.WriteOptions = Buffered;
            await responseStream.WriteAsync(new EnrolWorkersResponse { Row = RentanMapping.ToApi(done.Answers[i]) }, context.CancellationToken);
        }

        responseStream.WriteOptions = null;
        await responseStream.WriteAsync(new EnrolWorkersResponse { Summary = RentanMapping.ToApi(done.Summary) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Administrator, MemberRole.Sponsor)]
    public override async Task ListWorkers(ListWorkersRequest request, IServerStreamWriter<ListWorkersResponse> responseStream, ServerCallContext context)
    {
        var requests = Requests();
        requests.Year("year", request.Year);
        requests.ThrowIfAny();
        var scope = await ScopeAsync(request.SponsorCode, request.Year, context);
        var agreement = await store.FindAgreementAsync(AgreementRecord.IdOf(scope.SponsorCode, request.Year), context.CancellationToken)
            ?? throw RpcErrors.Of(StatusCode.NotFound, "The sponsor has no agreement for this year.");
        await foreach (var worker in store.WorkersAsync(agreement.AgreementId, null, context.CancellationToken))
            await responseStream.WriteAsync(new ListWorkersResponse { Worker = RentanMapping.ToApi(worker) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Administrator, MemberRole.Sponsor)]
    public override async Task RunAnnualUpdate(RunAnnualUpdateRequest request, IServerStreamWriter<RunAnnualUpdateResponse> responseStream, ServerCallContext context)
    {
        var requests = Requests();
        requests.Year("year", request.Year);
        requests.ThrowIfAny();
        var scope = await ScopeAsync(request.SponsorCode, request.Year, context);
        var decided = await annualUpdate.RunAsync(scope, request.Year, context.CorrelationId(), context.CancellationToken) switch
        {
            AnnualUpdateResult.Decided answer => answer,
            AnnualUpdateResult.AgreementNotFound => throw RpcErrors.Of(StatusCode.NotFound, "The sponsor has no agreement for this year."),
            AnnualUpdateResult.NoExtract => throw Precondition("NO_EXTRACT", "The sponsor has no complete DTSEN extract: upload the new one first."),
            AnnualUpdateResult.Refused refused => throw Precondition(refused.Reason, refused.Message),
            AnnualUpdateResult.NoRates noRates => throw Precondition("NO_RATES_FOR_MONTH", noRates.Message),
            AnnualUpdateResult.MembershipUnavailable => throw Unavailable("The participant registry is unavailable; what was decided is kept: run the update again after the given delay."),
            var other => throw new InvalidOperationException($"Unexpected annual update result {other.GetType().Name}."),
        };

        var summary = new AnnualUpdateSummary { ExtractDate = RentanMapping.ToApi(decided.Extract.ExtractDate), NextAgreementId = decided.Next?.AgreementId ?? "" };
        responseStream.WriteOptions = Buffered;
        await foreach (var line in annualUpdate.ReportAsync(decided, context.CancellationToken))
        {
            switch (line.Outcome)
            {
                case AnnualOutcome.Renewed: summary.Workers++; summary.Renewed++; summary.RenewalCommittedRupiah += line.Renewal!.Committed; break;
                case AnnualOutcome.Ended: summary.Workers++; summary.Ended++; break;
                default: summary.NewlyEligible++; break;
            }

            await responseStream.WriteAsync(new RunAnnualUpdateResponse { Line = RentanMapping.ToApi(line) }, context.CancellationToken);
        }

        if (decided.Next is { } next && await store.FindAgreementAsync(next.AgreementId, context.CancellationToken) is { } after) summary.NextRemainingRupiah = after.Remaining;
        responseStream.WriteOptions = null;
        await responseStream.WriteAsync(new RunAnnualUpdateResponse { Summary = summary }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Administrator, MemberRole.Sponsor)]
    public override async Task GetInvoice(GetInvoiceRequest request, IServerStreamWriter<GetInvoiceResponse> responseStream, ServerCallContext context)
    {
        var (year, month) = Requests().Month("month", request.Month);
        var scope = await ScopeAsync(request.SponsorCode, year, context);
        var priced = await invoices.PriceAsync(scope.SponsorCode, year, month, context.CancellationToken) switch
        {
            InvoiceResult.Priced answer => answer,
            InvoiceResult.AgreementNotFound => throw RpcErrors.Of(StatusCode.NotFound, "The sponsor has no agreement for this month's year."),
            InvoiceResult.NoRates noRates => throw Precondition("NO_RATES_FOR_MONTH", noRates.Message),
            InvoiceResult.MembershipUnavailable => throw Unavailable("The participant registry is unavailable; retry the same request after the given delay."),
            var other => throw new InvalidOperationException($"Unexpected invoice result {other.GetType().Name}."),
        };

        var totals = new SortedDictionary<Program, ContributionLine>();
        var workers = 0L;
        var total = 0L;
        responseStream.WriteOptions = Buffered;
        await foreach (var item in invoices.LinesAsync(priced, context.CancellationToken))
        {
            workers++;
            total += item.Contribution.Total;
            Invoice.AddTo(totals, item.Contribution);
            await responseStream.WriteAsync(new GetInvoiceResponse { Line = RentanMapping.ToApi(item) }, context.CancellationToken);
        }

        var agreement = await store.FindAgreementAsync(priced.Agreement.AgreementId, context.CancellationToken) ?? priced.Agreement;
        var answerTotals = new InvoiceTotals
        {
            Month = new YearMonth { Year = year, Month = month },
            AgreementId = agreement.AgreementId,
            WorkerCount = workers,
            TotalRupiah = total,
            BudgetRupiah = agreement.Budget,
            CommittedRupiah = agreement.Committed,
            RemainingRupiah = agreement.Remaining,
        };
        answerTotals.Lines.Add(totals.Values);
        responseStream.WriteOptions = null;
        await responseStream.WriteAsync(new GetInvoiceResponse { Totals = answerTotals }, context.CancellationToken);
    }

    /// <summary>
    /// The extract's rows as read from the wire. A row of a regency outside the sponsor's reach is refused whatever it
    /// holds, and audited once per regency per upload.
    /// </summary>
    private async IAsyncEnumerable<ExtractUploadRow> ExtractRowsAsync(
        IAsyncStreamReader<UploadExtractRequest> requests, SponsorScope scope, ServerCallContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var today = time.JakartaToday();
        var denied = new HashSet<string>(StringComparer.Ordinal);
        while (await requests.MoveNext(cancellationToken))
        {
            var message = requests.Current;
            if (message.PartCase != UploadExtractRequest.PartOneofCase.Rows)
                throw Invalid("header", "HEADER_REPEATED", "The header is the first message of an upload, exactly once; then rows.");
            // Each row is charged to the member's item budget: over it the upload slows, then ends before the extract is complete.
            await budget.ChargeAsync(context, message.Rows.Rows.Count,
                "the rejected rows before this message were answered, but the extract is not complete and not in use. Send the whole upload again after the given delay.", cancellationToken);
            foreach (var row in message.Rows.Rows)
            {
                var read = new RentanRequests(today);
                var record = read.ExtractRow(row);
                if (record is null)
                {
                    yield return new ExtractUploadRow.Invalid(RentanRequests.NikOf(row.Nik), [.. read.Violations]);
                }
                else if (!scope.Covers(record.RegencyCode))
                {
                    if (denied.Add(record.RegencyCode))
                        await denials.RecordAsync(context, "REGION_NOT_SPONSORS", $"extract row of regency {record.RegencyCode}, outside the sponsor's regions", DeniedResource.None, cancellationToken);
                    yield return new ExtractUploadRow.OutsideRegion(record.RegencyCode);
                }
                else
                {
                    yield return new ExtractUploadRow.Valid(record);
                }
            }
        }
    }

    /// <summary>
    /// The sponsor named, as the caller may see it: a sponsor only itself (another is denied and audited), an administrator
    /// any. NOT_FOUND when no sponsor is registered under the code.
    /// </summary>
    private async Task<SponsorScope> ScopeAsync(string sponsorCode, int? year, ServerCallContext context, string? agreementId = null)
    {
        var requests = Requests();
        requests.SponsorCode("sponsor_code", sponsorCode);
        requests.ThrowIfAny();
        var member = context.Member();
        if (member.Role != MemberRole.Administrator && !string.Equals(member.Code, sponsorCode, StringComparison.Ordinal))
        {
            var batch = agreementId ?? (year is { } y ? AgreementRecord.IdOf(sponsorCode, y) : null);
            await denials.RecordAsync(context, "SPONSOR_NOT_OWN", "sponsor code of another member", new DeniedResource(BatchId: batch), context.CancellationToken);
            throw AccessDenials.Denied(RentanMapping.NotOwnSponsorMessage, "SPONSOR_NOT_OWN");
        }

        var sponsor = await store.FindSponsorAsync(sponsorCode, context.CancellationToken)
            ?? throw RpcErrors.Of(StatusCode.NotFound, "No sponsor is registered under this code.");
        return new SponsorScope(sponsor, members.FindByCode(sponsorCode));
    }

    private async Task<Agreement> AgreementAsync(string agreementId, CancellationToken cancellationToken)
    {
        var figures = await store.FiguresAsync(agreementId, cancellationToken) ?? throw RpcErrors.Of(StatusCode.NotFound, "The sponsor has no agreement for this year.");
        return RentanMapping.ToApi(figures.Agreement, figures.Pending, figures.Workers);
    }

    private static T Saved<T>(SaveResult<T> result) => result switch
    {
        SaveResult<T>.Saved saved => saved.Record,
        SaveResult<T>.Refused refused => throw Precondition(refused.Reason, refused.Message),
        SaveResult<T>.NotFound notFound => throw RpcErrors.Of(StatusCode.NotFound, notFound.Message),
        var other => throw new InvalidOperationException($"Unexpected save result {other.GetType().Name}."),
    };

    private RentanRequests Requests() => new(time.JakartaToday());

    private static RpcException Invalid(string field, string reason, string description) =>
        new[] { new FieldViolation(field, reason, description) }.ToException();

    private static RpcException Precondition(string reason, string message) =>
        RpcErrors.WithDetails(StatusCode.FailedPrecondition, message, new ErrorInfo { Reason = reason, Domain = ErrorDomain });

    private RpcException Unavailable(string message) => RpcErrors.RetryLater(StatusCode.Unavailable, message, settings.RetryDelay);
}
