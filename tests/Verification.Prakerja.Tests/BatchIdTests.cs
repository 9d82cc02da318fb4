using Verification.Platform.Telemetry;
using Verification.Prakerja.Features.Submit;

namespace Verification.Prakerja.Tests;

/// <summary>
/// A batch id is traced by auditors in the audit log, which masks NIK-shaped digit runs: an id must never hold one
/// (the fault suite's books once missed a batch whose id ended in sixteen digits).
/// </summary>
public sealed class BatchIdTests
{
    [Fact]
    public void AnIdHoldingSixteenDigitsInARowIsDrawnAgain()
    {
        var nikShaped = Guid.Parse("01a24eae-7267-76ed-9669-939374117449");
        var plain = Guid.Parse("01a24eae-7267-76ed-a669-93937411744b");
        Assert.NotEqual(nikShaped.ToString("N"), NikRedaction.Mask(nikShaped.ToString("N")));
        var drawn = new Queue<Guid>([nikShaped, plain]);

        var id = BatchSubmission.NewBatchId(drawn.Dequeue);

        Assert.Equal(plain.ToString("N"), id);
        Assert.Empty(drawn);
    }

    [Fact]
    public void IdsAreThirtyTwoLowerCaseHexCharactersThatNoMaskChanges()
    {
        var ids = Enumerable.Range(0, 5_000).Select(_ => BatchSubmission.NewBatchId(Guid.CreateVersion7)).ToList();

        Assert.All(ids, id =>
        {
            Assert.Equal(32, id.Length);
            Assert.True(id.All(char.IsAsciiHexDigitLower), id);
            Assert.Equal(id, NikRedaction.Mask(id));
        });
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
