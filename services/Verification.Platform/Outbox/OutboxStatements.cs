using Npgsql;
using static Verification.Platform.Data.PostgresParameters;

namespace Verification.Platform.Outbox;

/// <summary>
/// The outbox row of an event as a hand-written PostgreSQL statement, for writers that batch their own SQL: the row
/// must still commit in the same transaction as the change, and the writer notifies the relay after the commit itself.
/// </summary>
public static class OutboxStatements
{
    /// <summary>The columns an outbox insert sets; the rest take their defaults.</summary>
    public const string Columns = "event_id, message_type, payload, headers, created_at";

    /// <summary>The placeholders matching <see cref="Columns"/>, numbered from <paramref name="first"/>.</summary>
    public static string Placeholders(int first) => $"${first}, ${first + 1}, ${first + 2}, ${first + 3}, ${first + 4}";

    /// <summary>The parameters matching <see cref="Columns"/>, in order.</summary>
    public static IEnumerable<NpgsqlParameter> Parameters(OutboxMessage message) =>
    [
        Uuid(message.EventId), Text(message.MessageType), Text(message.Payload), Text(message.Headers), Instant(message.CreatedAt),
    ];

    private static readonly string InsertSql = $"INSERT INTO outbox_messages ({Columns}) VALUES ({Placeholders(1)})";

    /// <summary>One outbox row as a batch command of its own.</summary>
    public static NpgsqlBatchCommand Insert(OutboxMessage message)
    {
        var command = new NpgsqlBatchCommand(InsertSql);
        foreach (var parameter in Parameters(message)) command.Parameters.Add(parameter);
        return command;
    }
}
