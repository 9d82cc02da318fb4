using System.Text;
using Verification.Audit.Verifier;

namespace Verification.Audit.Tests;

internal static class Fixtures
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    public static List<byte[]> Entries(int count, string label = "event") =>
        [.. Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes($"{label} {i}"))];

    public static InMemorySubtreeHashStore StoreOf(IEnumerable<byte[]> entries)
    {
        var store = new InMemorySubtreeHashStore();
        foreach (var entry in entries)
        {
            store.Append(entry);
        }

        return store;
    }

    public static T Sync<T>(ValueTask<T> task) => task.AsTask().GetAwaiter().GetResult();
}

/// <summary>Counts what a proof request reads, to hold the server to O(log n).</summary>
internal sealed class CountingStore(ISubtreeHashStore inner) : ISubtreeHashStore
{
    public int Calls { get; private set; }

    public int AddressesRead { get; private set; }

    public ValueTask<IReadOnlyList<byte[]>> ReadAsync(IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken = default)
    {
        Calls++;
        AddressesRead += addresses.Count;
        return inner.ReadAsync(addresses, cancellationToken);
    }

    public void Reset() => (Calls, AddressesRead) = (0, 0);
}
