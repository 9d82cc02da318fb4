using System.Reflection;
using Verification.Platform.Data;
using Xunit.Sdk;

namespace Verification.Testing;

/// <summary>Runs a theory once on SQLite and once on PostgreSQL (the shared throwaway server), its one argument the provider.</summary>
public sealed class BothProvidersAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[DatabaseProvider.Sqlite], [DatabaseProvider.Postgres]];
}
