using System.Collections;
using System.Text;

namespace Verification.Rpc;

/// <summary>
/// Custom metadata (request headers, response headers or trailers). Keys are lower-case ASCII;
/// keys ending in <c>-bin</c> carry bytes (base64 on the wire). Names reserved by the protocol
/// (<c>grpc-*</c> and pseudo-headers) cannot be added by applications.
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    public static readonly Metadata Empty = new(readOnly: true);

    private readonly bool _readOnly;

    public Metadata() { }

    private Metadata(bool readOnly) => _readOnly = readOnly;

    public void Add(string key, string value) => Add(new Entry(key, value));

    public void Add(string key, byte[] valueBytes) => Add(new Entry(key, valueBytes));

    public void Add(Entry item)
    {
        if (_readOnly) throw new NotSupportedException("This metadata is read-only.");
        _entries.Add(item);
    }

    /// <summary>Adds a header as received: reserved names are skipped, <c>-bin</c> values (comma-separated) are base64-decoded, undecodable ones dropped.</summary>
    internal void AddFromWire(string key, string value)
    {
        var name = key.ToLowerInvariant();
        if (IsReservedKey(name)) return;
        if (!name.EndsWith(BinarySuffix, StringComparison.Ordinal))
        {
            _entries.Add(Entry.FromWire(name, value));
            return;
        }
        foreach (var part in value.Split(','))
        {
            if (Wire.BinaryHeaderEncoding.TryDecode(part, out var bytes)) _entries.Add(Entry.FromWire(name, bytes));
        }
    }

    /// <summary>The last entry with this key, or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase)) return _entries[i];
        }
        return null;
    }

    public string? GetValue(string key) => Get(key)?.Value;

    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    public IEnumerable<Entry> GetAll(string key) =>
        _entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    public Entry this[int index]
    {
        get => _entries[index];
        set
        {
            if (_readOnly) throw new NotSupportedException("This metadata is read-only.");
            _entries[index] = value;
        }
    }

    public int Count => _entries.Count;

    public bool IsReadOnly => _readOnly;

    public void Clear() => _entries.Clear();

    public bool Contains(Entry item) => _entries.Contains(item);

    public void CopyTo(Entry[] array, int arrayIndex) => _entries.CopyTo(array, arrayIndex);

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    public int IndexOf(Entry item) => _entries.IndexOf(item);

    public void Insert(int index, Entry item)
    {
        if (_readOnly) throw new NotSupportedException("This metadata is read-only.");
        _entries.Insert(index, item);
    }

    public bool Remove(Entry item) => !_readOnly && _entries.Remove(item);

    public void RemoveAt(int index)
    {
        if (_readOnly) throw new NotSupportedException("This metadata is read-only.");
        _entries.RemoveAt(index);
    }

    /// <summary>True for names applications may not set: pseudo-headers, <c>grpc-*</c> and the HTTP/2 framing headers gRPC owns.</summary>
    public static bool IsReservedKey(string key) =>
        key.StartsWith(':') ||
        key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) ||
        key.Equals("content-type", StringComparison.OrdinalIgnoreCase) ||
        key.Equals("te", StringComparison.OrdinalIgnoreCase) ||
        key.Equals("content-length", StringComparison.OrdinalIgnoreCase) ||
        key.Equals("connection", StringComparison.OrdinalIgnoreCase) ||
        key.Equals("host", StringComparison.OrdinalIgnoreCase);

    /// <summary>One key and its text or binary value.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _valueBytes;

        public Entry(string key, string value)
        {
            Key = ValidateKey(key, binary: false);
            ArgumentNullException.ThrowIfNull(value);
            foreach (var c in value)
            {
                // Header values are printable ASCII (0x20-0x7E) per the protocol's ASCII-Value rule.
                if (c < 0x20 || c > 0x7E) throw new ArgumentException($"Metadata value for '{Key}' must be printable ASCII; use a '-bin' key for other bytes.", nameof(value));
            }
            _value = value;
        }

        public Entry(string key, byte[] valueBytes)
        {
            Key = ValidateKey(key, binary: true);
            _valueBytes = valueBytes ?? throw new ArgumentNullException(nameof(valueBytes));
        }

        private Entry(string key, string? value, byte[]? bytes)
        {
            Key = key;
            _value = value;
            _valueBytes = bytes;
        }

        /// <summary>Builds an entry from the wire without the application-facing reserved-name check.</summary>
        internal static Entry FromWire(string key, string value) => new(key, value, null);

        internal static Entry FromWire(string key, byte[] bytes) => new(key, null, bytes);

        public string Key { get; }

        public bool IsBinary => _valueBytes is not null;

        public string Value => _value ?? throw new InvalidOperationException($"Metadata '{Key}' is binary; read ValueBytes.");

        public byte[] ValueBytes => _valueBytes ?? Encoding.ASCII.GetBytes(_value!);

        public override string ToString() => IsBinary ? $"{Key}=<{_valueBytes!.Length} bytes>" : $"{Key}={_value}";

        private static string ValidateKey(string key, bool binary)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var normalized = key.ToLowerInvariant();
            foreach (var c in normalized)
            {
                if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
                    throw new ArgumentException($"Metadata key '{key}' has a character outside [0-9a-z-_.].", nameof(key));
            }
            if (IsReservedKey(normalized))
                throw new ArgumentException($"Metadata key '{key}' is reserved by the gRPC protocol.", nameof(key));
            var isBinaryKey = normalized.EndsWith(BinarySuffix, StringComparison.Ordinal);
            if (binary != isBinaryKey)
                throw new ArgumentException(binary ? $"Binary metadata key '{key}' must end in '-bin'." : $"Text metadata key '{key}' must not end in '-bin'.", nameof(key));
            return normalized;
        }
    }
}
