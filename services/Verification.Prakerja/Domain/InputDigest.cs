using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Verification.Prakerja.Domain;

/// <summary>
/// SHA-256 of a batch's input as SubmitBatchResponse.input_sha256 defines it: for each recipient in input order, its
/// row_id, nik and effective cohort, each as a 4-byte big-endian UTF-8 byte length followed by the UTF-8 bytes.
/// </summary>
public sealed class InputDigest : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _buffer = new byte[256];

    public void AddRecipient(string rowId, string nik, string effectiveCohort)
    {
        var needed = 12 + Encoding.UTF8.GetMaxByteCount(rowId.Length + nik.Length + effectiveCohort.Length);
        if (_buffer.Length < needed) _buffer = new byte[Math.Max(needed, _buffer.Length * 2)];
        var written = Field(rowId, 0);
        written = Field(nik, written);
        written = Field(effectiveCohort, written);
        _hash.AppendData(_buffer, 0, written);
    }

    private int Field(string value, int at)
    {
        var length = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(at + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(at), length);
        return at + 4 + length;
    }

    public byte[] Finish() => _hash.GetHashAndReset();

    public void Dispose() => _hash.Dispose();
}
