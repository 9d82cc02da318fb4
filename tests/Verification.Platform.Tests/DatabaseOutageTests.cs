using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Platform.Data;

namespace Verification.Platform.Tests;

/// <summary>Which failures are an outage (UNAVAILABLE, retry) and which are bugs (INTERNAL).</summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    public void AnUnreachableOrBusyDatabaseIsAnOutageAlsoWhenWrapped()
    {
        Assert.True(DatabaseOutageInterceptor.IsOutage(new NpgsqlException("connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(DatabaseOutageInterceptor.IsOutage(new DbUpdateException("save", new NpgsqlException("io", new IOException("reset")))));
        Assert.True(DatabaseOutageInterceptor.IsOutage(new SqliteException("database is locked", 5)));
        Assert.True(DatabaseOutageInterceptor.IsOutage(new InvalidOperationException("wrapped", new SqliteException("table is locked", 6))));
    }

    [Fact]
    public void ProgrammingErrorsAndConstraintViolationsAreNot()
    {
        Assert.False(DatabaseOutageInterceptor.IsOutage(new InvalidOperationException("bug")));
        Assert.False(DatabaseOutageInterceptor.IsOutage(new NpgsqlException("bad statement")));
        Assert.False(DatabaseOutageInterceptor.IsOutage(new SqliteException("UNIQUE constraint failed", 19)));
        Assert.False(DatabaseOutageInterceptor.IsOutage(new DbUpdateException("save", new SqliteException("constraint", 19))));
    }
}
