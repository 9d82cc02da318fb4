using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;

namespace Verification.Platform.Tests;

public sealed class DatabaseLoggingTests
{
    [Fact]
    public async Task AnExpectedUniqueViolationIsTheCallersToHandleAndLeavesNoErrorInTheLog()
    {
        using var directory = new TemporaryDirectory();
        var database = directory.Sqlite("producer");
        await new SchemaMigrator().ApplyPlatformAsync(database.Provider, database.ConnectionString, CancellationToken.None);
        var log = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(builder => builder.AddProvider(log).SetMinimumLevel(LogLevel.Trace));
        var options = new DbContextOptionsBuilder<ProducerDbContext>().UseModuleDatabase(database).UseLoggerFactory(loggers).Options;
        var enrolment = TestEvents.Enrolled("unique-race", 1);

        await using (var db = new ProducerDbContext(options))
        {
            db.AddOutboxEvent(enrolment);
            await db.SaveChangesAsync();
        }

        await using (var db = new ProducerDbContext(options))
        {
            // The same event id again: what an idempotency race between two callers looks like to the database.
            db.AddOutboxEvent(enrolment);
            var failure = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
            Assert.True(failure.IsUniqueViolation());
        }

        Assert.Contains(log.Entries, e => e.Category.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Warning);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly List<(string Category, LogLevel Level)> entries = [];

        public IReadOnlyList<(string Category, LogLevel Level)> Entries
        {
            get
            {
                lock (entries) return [.. entries];
            }
        }

        public ILogger CreateLogger(string categoryName) => new Capture(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Capture(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.entries) owner.entries.Add((category, logLevel));
            }
        }
    }
}
