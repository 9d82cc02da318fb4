namespace Verification.Contracts.Events;

/// <summary>
/// The envelope every bus event carries. Events are positional records named in the past tense,
/// holding only primitives, <see cref="Guid"/>, <see cref="DateTimeOffset"/>, strings, longs and arrays,
/// and are changed only additively: MassTransit derives the message type name from this namespace.
/// </summary>
public interface IIntegrationEvent
{
    /// <summary>Stable identity of this occurrence; consumers deduplicate on it.</summary>
    Guid EventId { get; }

    /// <summary>When it happened, in UTC.</summary>
    DateTimeOffset OccurredAt { get; }

    /// <summary>The caller's correlation id, so an auditor can follow one request across modules.</summary>
    string CorrelationId { get; }

    /// <summary>Code of the member (institution) on whose behalf the change was made.</summary>
    string ActingMember { get; }

    /// <summary>The module that published the event, e.g. "kur".</summary>
    string SourceModule { get; }
}
