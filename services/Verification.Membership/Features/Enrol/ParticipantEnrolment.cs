using System.Security.Cryptography;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Platform.Privacy;

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
    DateOnly? EndDate,
    string? OnBehalfOf = null,
    string? RelayedBy = null)
{
    /// <summary>Who the events name as acting: the partner a module relayed, else the caller (whose key space idempotency uses).</summary>
    public string ActingMember => OnBehalfOf ?? MemberCode;

    /// <summary>SHA-256 of a request's bytes: what makes "the same request" under one idempotency key.</summary>
    public static byte[] Fingerprint(ReadOnlySpan<byte> canonicalRequest) => SHA256.HashData(canonicalRequest);
}

/// <summary>How an enrolment request ended.</summary>
public abstract record EnrolmentResult
{
    /// <summary>The answer: this request's, or the first one given under its key.</summary>
    public sealed record Answered(EnrolmentAnswer Answer) : EnrolmentResult;

    /// <summary>The key was used before for another request: nothing was done.</summary>
    public sealed record KeyReused : EnrolmentResult;
}

/// <summary>
/// Registers a participant (or finds them by NIK) and starts the requested coverage, once per idempotency key: the
/// key's record, the participant, the coverage and the events commit in one transaction, and a repeat of the key
/// returns the stored first answer.
/// </summary>
public sealed class ParticipantEnrolment(RegistryStore store, NikSealer nikSealer, TimeProvider time)
{
    public const string SourceModule = "membership";

    public async Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        // Identical requests carry the same NIK, so the person's lock also queues every repeat of a key behind its first answer.
        await using (var person = await store.BeginEnrolmentAsync(command.MemberCode, command.IdempotencyKey, StoredCodes.Nik(command.Nik), cancellationToken))
        {
            if (person.Stored is { } stored) return Replay(command, stored);
            var writes = new EnrolmentWrites();
            var (answer, _) = Apply(
                command, person.Participant, () => person.NewId ?? throw new InvalidOperationException("A new participant was given no number."),
                time.GetUtcNow(), time.JakartaToday(), writes);
            if (await person.SaveAsync(writes, cancellationToken)) return new EnrolmentResult.Answered(answer);
        }

        // Another request with this key (so another NIK, or the person's lock would have queued it) committed first.
        return await store.FindAnswerAsync(command.MemberCode, command.IdempotencyKey, cancellationToken) is { } first
            ? Replay(command, first)
            : throw new InvalidOperationException("An enrolment conflicted on a unique key that no committed row holds.");
    }

    /// <summary>
    /// A chunk of enrolments of one member, each answered exactly as <see cref="EnrolAsync"/> would answer it alone, in
    /// one transaction: the persons locked, stored answers and participants read once, participant numbers allocated as
    /// one block, every row and event saved together. Items are applied in order, so two items for one NIK behave as two
    /// requests one after the other.
    /// </summary>
    public async Task<IReadOnlyList<EnrolmentResult>> EnrolManyAsync(IReadOnlyList<EnrolmentCommand> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return [];
        if (commands.Select(c => c.MemberCode).Distinct(StringComparer.Ordinal).Skip(1).Any())
            throw new ArgumentException("A chunk of enrolments comes from one member.", nameof(commands));
        var niks = commands.Select(c => StoredCodes.Nik(c.Nik)).Distinct().Order().ToList();
        var keys = commands.Select(c => c.IdempotencyKey).Distinct(StringComparer.Ordinal).ToList();
        await using (var chunk = await store.BeginEnrolmentsAsync(commands[0].MemberCode, keys, niks, cancellationToken))
        {
            var participants = new Dictionary<long, ParticipantRecord>(chunk.Participants);
            // One block of participant numbers for the NIKs this chunk will register.
            var unknown = commands.Where(c => !chunk.Stored.ContainsKey(c.IdempotencyKey))
                .Select(c => StoredCodes.Nik(c.Nik)).Where(n => !participants.ContainsKey(n)).Distinct().Count();
            var ids = new Queue<long>(await chunk.NewIdsAsync(unknown, cancellationToken));

            var now = time.GetUtcNow();
            var today = time.JakartaToday();
            var answered = new Dictionary<string, (byte[] Fingerprint, EnrolmentAnswer Answer)>(StringComparer.Ordinal);
            var results = new EnrolmentResult[commands.Count];
            var writes = new EnrolmentWrites();
            for (var i = 0; i < commands.Count; i++)
            {
                var command = commands[i];
                if (chunk.Stored.TryGetValue(command.IdempotencyKey, out var stored))
                {
                    results[i] = Replay(command, stored);
                    continue;
                }

                if (answered.TryGetValue(command.IdempotencyKey, out var earlier))
                {
                    results[i] = Replay(command, earlier.Fingerprint, earlier.Answer);
                    continue;
                }

                var nik = StoredCodes.Nik(command.Nik);
                var (answer, participant) = Apply(command, participants.GetValueOrDefault(nik), ids.Dequeue, now, today, writes);
                participants[nik] = participant;
                answered[command.IdempotencyKey] = (command.RequestFingerprint, answer);
                results[i] = new EnrolmentResult.Answered(answer);
            }

            if (await chunk.SaveAsync(writes, cancellationToken)) return results;
        }

        // A concurrent single enrolment used one of these keys for another NIK: settle the chunk item by item.
        var settled = new List<EnrolmentResult>(commands.Count);
        foreach (var command in commands) settled.Add(await EnrolAsync(command, cancellationToken));
        return settled;
    }

    private static EnrolmentResult Replay(EnrolmentCommand command, StoredAnswer stored) =>
        stored.RequestFingerprint.AsSpan().SequenceEqual(command.RequestFingerprint) ? new EnrolmentResult.Answered(stored.Answer) : new EnrolmentResult.KeyReused();

    private static EnrolmentResult Replay(EnrolmentCommand command, byte[] fingerprint, EnrolmentAnswer answer) =>
        fingerprint.AsSpan().SequenceEqual(command.RequestFingerprint) ? new EnrolmentResult.Answered(answer) : new EnrolmentResult.KeyReused();

    /// <summary>
    /// One enrolment against the person as loaded (null: the NIK is new), inside the caller's transaction: adds the
    /// participant, coverage, events and the key's answer to <paramref name="writes"/> and returns the answer with the
    /// participant. The one rule both EnrollParticipant and EnrollParticipants apply.
    /// </summary>
    private (EnrolmentAnswer Answer, ParticipantRecord Participant) Apply(
        EnrolmentCommand command, ParticipantRecord? participant, Func<long> newId, DateTimeOffset now, DateOnly today, EnrolmentWrites writes)
    {
        var warnings = command.Nik.CrossCheck(command.BirthDate, command.Sex);
        EnrolmentOutcome outcome;
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
            outcome = EnrolmentOutcome.Registered;
            started = command.Programs;
            var eventId = Guid.CreateVersion7(now);
            writes.Event(new ParticipantEnrolled(
                eventId, now, command.CorrelationId, command.ActingMember, SourceModule, participant.Number.Value,
                nikSealer.Seal(command.Nik.RevealDigits(), eventId), command.Nik.Mask(), SegmentName(command.Segment), command.Source.ChannelName, command.RelayedBy));
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
            outcome = started.IsEmpty ? EnrolmentOutcome.AlreadyCovered : EnrolmentOutcome.CoverageAdded;
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
                Guid.CreateVersion7(now), now, command.CorrelationId, command.ActingMember, SourceModule, participant.Number.Value,
                ProgramNames(started), SegmentName(command.Segment), command.Source.EmployerNumber, WibCalendar.StartOf(command.StartDate),
                command.Source.ChannelName, command.Source.ChannelReference,
                command.EndDate is { } end ? WibCalendar.EndOf(end) : null, command.RelayedBy));
        }

        var active = ProgramSet.Empty;
        foreach (var coverage in participant.Coverages)
        {
            if (coverage.ToSpan().InForceOn(today)) active = active.Union(coverage.Programs);
        }

        var answer = new EnrolmentAnswer(outcome, participant.Number, started, active, warnings);

        writes.Answers.Add(new IdempotencyRecord
        {
            MemberCode = command.MemberCode,
            IdempotencyKey = command.IdempotencyKey,
            RequestFingerprint = command.RequestFingerprint,
            Response = StoredAnswer.Serialize(answer),
            CreatedAt = now,
        });
        return (answer, participant);
    }

    private static bool Overlaps(CoverageRecord coverage, DateOnly start, DateOnly? end) =>
        coverage.StartDate <= (end ?? DateOnly.MaxValue) && (coverage.EndDate ?? DateOnly.MaxValue) >= start;

    internal static string SegmentName(ParticipantSegment segment) => segment.ToString().ToUpperInvariant();

    internal static string[] ProgramNames(ProgramSet programs) => [.. programs.ToList().Select(p => p.ToString().ToUpperInvariant())];
}
