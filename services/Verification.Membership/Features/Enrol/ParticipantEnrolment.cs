using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using ApiProgram = Verification.Api.Common.V1.Program;
using DomainNikWarning = Verification.Domain.NikWarning;

namespace Verification.Membership.Features.Enrol;

/// <summary>A validated enrolment: who asks (member, idempotency key, fingerprint of the request) and what.</summary>
public sealed record EnrolmentCommand(
    string MemberCode,
    string CorrelationId,
    string IdempotencyKey,
    byte[] RequestFingerprint,
    Nik Nik,
    string FullName,
    DateOnly BirthDate,
    Sex Sex,
    ParticipantSegment Segment,
    ProgramSet Programs,
    CoverageSource Source,
    long MonthlyIncome,
    DateOnly StartDate,
    DateOnly? EndDate)
{
    /// <summary>SHA-256 of a request's bytes: what makes "the same request" under one idempotency key.</summary>
    public static byte[] Fingerprint(ReadOnlySpan<byte> canonicalRequest) => SHA256.HashData(canonicalRequest);
}

/// <summary>The answer to an enrolment, or a refusal because the key was used for another request.</summary>
public sealed record EnrolmentResult(EnrollParticipantResponse? Response, bool Replayed, bool KeyReusedForAnotherRequest);

/// <summary>
/// Registers a participant (or finds them by NIK) and starts the requested coverage, once per idempotency key: the
/// key's record, the participant, the coverage and the events commit in one transaction, and a repeat of the key
/// returns the stored first answer.
/// </summary>
public sealed class ParticipantEnrolment(MembershipDbContext db, TimeProvider time, OutboxSignal<MembershipDbContext> outbox)
{
    public const string SourceModule = "membership";

    public async Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            try
            {
                return db.IsPostgres()
                    ? await EnrolOnceOnPostgresAsync(command, cancellationToken)
                    : await EnrolOnceAsync(command, cancellationToken);
            }
            catch (Exception ex) when (ex.IsUniqueViolation())
            {
                // Another request with this key (so another NIK, or the NIK lock would have queued it) committed first.
                db.ChangeTracker.Clear();
                return await ReplayAsync(command, cancellationToken)
                    ?? throw new InvalidOperationException("An enrolment conflicted on a unique key that no committed row holds.", ex);
            }
        }
        finally
        {
            gate?.Release();
        }
    }

    private async Task<EnrolmentResult> EnrolOnceAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var nik = StoredCodes.Nik(command.Nik);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Identical requests carry the same NIK, so this lock also queues every repeat of a key behind its first answer.
        await db.LockPersonAsync(nik, cancellationToken);
        if (await ReplayAsync(command, cancellationToken) is { } replay) return replay;

        var participant = await db.Participants.Include(p => p.Coverages).SingleOrDefaultAsync(p => p.Nik == nik, cancellationToken);
        long? newId = participant is null ? await db.AllocateSequenceAsync(cancellationToken) : null;
        var writes = new EnrolmentWrites();
        var (response, _) = Apply(command, participant, () => newId!.Value, time.GetUtcNow(), time.JakartaToday(), writes);
        writes.AddTo(db);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new EnrolmentResult(response, Replayed: false, KeyReusedForAnotherRequest: false);
    }

    /// <summary>The same as <see cref="EnrolOnceAsync"/> in three round trips of hand-written SQL: lock and reads, inserts, commit.</summary>
    private async Task<EnrolmentResult> EnrolOnceOnPostgresAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var nik = StoredCodes.Nik(command.Nik);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var found = await EnrolmentStatements.LockAndFindAsync(connection, transaction, command.MemberCode, command.IdempotencyKey, nik, cancellationToken);
            if (found.Answer is { } stored)
                return Replay(command, stored.Fingerprint, () => EnrollParticipantResponse.Parser.ParseFrom(stored.Response));

            var writes = new EnrolmentWrites();
            var newId = found.NewId;
            var (response, _) = Apply(
                command, found.Participant, () => newId ?? throw new InvalidOperationException("A new participant was given no number."),
                time.GetUtcNow(), time.JakartaToday(), writes);
            await EnrolmentStatements.InsertAsync(connection, transaction, writes, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            outbox.Notify();
            return new EnrolmentResult(response, Replayed: false, KeyReusedForAnotherRequest: false);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// A chunk of enrolments of one member, each answered exactly as <see cref="EnrolAsync"/> would answer it alone, in
    /// one transaction: the persons locked (in NIK order, so concurrent chunks never deadlock), stored answers and
    /// participants read with one query each, participant numbers allocated as one block, every row and event saved
    /// together. Items are applied in order, so two items for one NIK behave as two requests one after the other.
    /// </summary>
    public async Task<IReadOnlyList<EnrolmentResult>> EnrolManyAsync(IReadOnlyList<EnrolmentCommand> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return [];
        if (commands.Select(c => c.MemberCode).Distinct(StringComparer.Ordinal).Skip(1).Any())
            throw new ArgumentException("A chunk of enrolments comes from one member.", nameof(commands));
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            return await EnrolChunkAsync(commands, cancellationToken);
        }
        catch (Exception ex) when (ex.IsUniqueViolation())
        {
            // A concurrent single enrolment used one of these keys for another NIK: settle the chunk item by item.
            db.ChangeTracker.Clear();
            gate?.Release();
            gate = null;
            var results = new List<EnrolmentResult>(commands.Count);
            foreach (var command in commands) results.Add(await EnrolAsync(command, cancellationToken));
            return results;
        }
        finally
        {
            gate?.Release();
        }
    }

    private async Task<IReadOnlyList<EnrolmentResult>> EnrolChunkAsync(IReadOnlyList<EnrolmentCommand> commands, CancellationToken cancellationToken)
    {
        var memberCode = commands[0].MemberCode;
        var niks = commands.Select(c => StoredCodes.Nik(c.Nik)).Distinct().Order().ToList();
        var keys = commands.Select(c => c.IdempotencyKey).Distinct(StringComparer.Ordinal).ToList();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockPersonsAsync(niks, cancellationToken);

        var stored = await db.IdempotencyRecords.AsNoTracking()
            .Where(r => r.MemberCode == memberCode && keys.Contains(r.IdempotencyKey))
            .ToDictionaryAsync(r => r.IdempotencyKey, r => (r.RequestFingerprint, Response: r.Response), StringComparer.Ordinal, cancellationToken);
        // PostgreSQL copies the chunk's new rows in bulk, so nothing needs tracking; SQLite saves them through the context.
        var copy = db.IsPostgres();
        var known = db.Participants.Include(p => p.Coverages).Where(p => niks.Contains(p.Nik));
        var participants = await (copy ? known.AsNoTracking() : known).ToDictionaryAsync(p => p.Nik, cancellationToken);

        // One block of participant numbers for the NIKs this chunk will register.
        var unknown = commands.Where(c => !stored.ContainsKey(c.IdempotencyKey))
            .Select(c => StoredCodes.Nik(c.Nik)).Where(n => !participants.ContainsKey(n)).Distinct().Count();
        var ids = new Queue<long>(await db.AllocateSequencesAsync(unknown, cancellationToken));

        var now = time.GetUtcNow();
        var today = time.JakartaToday();
        var answered = new Dictionary<string, (byte[] Fingerprint, EnrollParticipantResponse Response)>(StringComparer.Ordinal);
        var results = new EnrolmentResult[commands.Count];
        var writes = new EnrolmentWrites();
        for (var i = 0; i < commands.Count; i++)
        {
            var command = commands[i];
            if (stored.TryGetValue(command.IdempotencyKey, out var record))
            {
                results[i] = Replay(command, record.RequestFingerprint, () => EnrollParticipantResponse.Parser.ParseFrom(record.Response));
                continue;
            }

            if (answered.TryGetValue(command.IdempotencyKey, out var earlier))
            {
                results[i] = Replay(command, earlier.Fingerprint, () => earlier.Response.Clone());
                continue;
            }

            var nik = StoredCodes.Nik(command.Nik);
            var (response, participant) = Apply(command, participants.GetValueOrDefault(nik), ids.Dequeue, now, today, writes);
            participants[nik] = participant;
            answered[command.IdempotencyKey] = (command.RequestFingerprint, response);
            results[i] = new EnrolmentResult(response, Replayed: false, KeyReusedForAnotherRequest: false);
        }

        if (copy)
        {
            await db.CopyAsync(writes, cancellationToken);
        }
        else
        {
            writes.AddTo(db);
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        db.ChangeTracker.Clear();
        return results;
    }

    private static EnrolmentResult Replay(EnrolmentCommand command, byte[] fingerprint, Func<EnrollParticipantResponse> response) =>
        fingerprint.AsSpan().SequenceEqual(command.RequestFingerprint)
            ? new EnrolmentResult(response(), Replayed: true, KeyReusedForAnotherRequest: false)
            : new EnrolmentResult(null, Replayed: false, KeyReusedForAnotherRequest: true);

    /// <summary>
    /// One enrolment against the person as loaded (null: the NIK is new), inside the caller's transaction: adds the
    /// participant, coverage, events and the key's answer to <paramref name="writes"/> and returns the answer with the
    /// participant. The one rule both EnrollParticipant and EnrollParticipants apply.
    /// </summary>
    private static (EnrollParticipantResponse Response, ParticipantRecord Participant) Apply(
        EnrolmentCommand command, ParticipantRecord? participant, Func<long> newId, DateTimeOffset now, DateOnly today, EnrolmentWrites writes)
    {
        var warnings = command.Nik.CrossCheck(command.BirthDate, command.Sex);
        EnrollOutcome outcome;
        ProgramSet started;
        if (participant is null)
        {
            participant = new ParticipantRecord
            {
                Id = newId(),
                Nik = StoredCodes.Nik(command.Nik),
                FullName = command.FullName,
                BirthDate = command.BirthDate,
                Sex = command.Sex,
                NikWarnings = StoredCodes.Warnings(warnings),
                CreatedAt = now,
            };
            writes.Participants.Add(participant);
            outcome = EnrollOutcome.Registered;
            started = command.Programs;
            writes.Event(new ParticipantEnrolled(
                Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, SourceModule, participant.Number.Value,
                command.Nik.RevealDigits(), command.Nik.Mask(), SegmentName(command.Segment), command.Source.ChannelName));
        }
        else
        {
            // A program this source already covers over the requested period is not started twice.
            var covered = ProgramSet.Empty;
            foreach (var coverage in participant.Coverages)
            {
                if (coverage.SameSource(command.Source) && Overlaps(coverage, command.StartDate, command.EndDate)) covered = covered.Union(coverage.Programs);
            }

            started = command.Programs.Except(covered);
            outcome = started.IsEmpty ? EnrollOutcome.AlreadyCovered : EnrollOutcome.CoverageAdded;
            // The civil registry never corrects a NIK: a new disagreement is kept on the record too.
            var before = participant.NikWarnings;
            participant.NikWarnings |= StoredCodes.Warnings(warnings);
            if (participant.NikWarnings != before) writes.Warned.Add(participant);
        }

        if (!started.IsEmpty)
        {
            var coverage = new CoverageRecord
            {
                ParticipantId = participant.Id,
                Programs = started,
                Segment = command.Segment,
                EmployerNumber = command.Source.EmployerNumber,
                Channel = command.Source.Channel,
                ChannelReference = command.Source.ChannelReference,
                MonthlyIncome = command.MonthlyIncome,
                StartDate = command.StartDate,
                EndDate = command.EndDate,
                CreatedAt = now,
            };
            participant.Coverages.Add(coverage);
            writes.Coverages.Add(coverage);
            writes.Event(new CoverageStarted(
                Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, SourceModule, participant.Number.Value,
                ProgramNames(started), SegmentName(command.Segment), command.Source.EmployerNumber, WibCalendar.StartOf(command.StartDate),
                command.Source.ChannelName, command.Source.ChannelReference,
                command.EndDate is { } end ? WibCalendar.EndOf(end) : null));
        }

        var active = ProgramSet.Empty;
        foreach (var coverage in participant.Coverages)
        {
            if (coverage.ToSpan().InForceOn(today)) active = active.Union(coverage.Programs);
        }

        var response = new EnrollParticipantResponse { Outcome = outcome, ParticipantNumber = participant.Number.Value };
        response.StartedPrograms.Add(started.ToList().Select(ToApi));
        response.ActivePrograms.Add(active.ToList().Select(ToApi));
        response.NikWarnings.Add(warnings.Select(ToApi));

        writes.Answers.Add(new IdempotencyRecord
        {
            MemberCode = command.MemberCode,
            IdempotencyKey = command.IdempotencyKey,
            RequestFingerprint = command.RequestFingerprint,
            Response = Google.Protobuf.MessageExtensions.ToByteArray(response),
            CreatedAt = now,
        });
        return (response, participant);
    }

    private async Task<EnrolmentResult?> ReplayAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var record = await db.IdempotencyRecords.AsNoTracking()
            .SingleOrDefaultAsync(r => r.MemberCode == command.MemberCode && r.IdempotencyKey == command.IdempotencyKey, cancellationToken);
        if (record is null) return null;
        return record.RequestFingerprint.AsSpan().SequenceEqual(command.RequestFingerprint)
            ? new EnrolmentResult(EnrollParticipantResponse.Parser.ParseFrom(record.Response), Replayed: true, KeyReusedForAnotherRequest: false)
            : new EnrolmentResult(null, Replayed: false, KeyReusedForAnotherRequest: true);
    }

    private static bool Overlaps(CoverageRecord coverage, DateOnly start, DateOnly? end) =>
        coverage.StartDate <= (end ?? DateOnly.MaxValue) && (coverage.EndDate ?? DateOnly.MaxValue) >= start;

    internal static string SegmentName(ParticipantSegment segment) => segment.ToString().ToUpperInvariant();

    internal static string[] ProgramNames(ProgramSet programs) => [.. programs.ToList().Select(p => p.ToString().ToUpperInvariant())];

    internal static ApiProgram ToApi(CoverageProgram program) => (ApiProgram)((int)program + 1);

    private static Api.Membership.V1.NikWarning ToApi(DomainNikWarning warning) => warning.Kind switch
    {
        NikWarningKind.BirthDateMismatch => Api.Membership.V1.NikWarning.BirthDateMismatch,
        _ => Api.Membership.V1.NikWarning.SexMismatch,
    };
}
