using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;

namespace Verification.Membership.Tests;

/// <summary>An auditor reads a participant with the NIK masked; the suite's own modules read it whole.</summary>
public sealed class AuditorReadTests(SqliteHostFixture fixture) : IClassFixture<SqliteHostFixture>
{
    [Fact]
    public async Task AnAuditorReadsTheParticipantWithTheNikMaskedWhileTheModulesReadItWhole()
    {
        var request = TestData.Bpu();
        var enrolled = await fixture.Host.Client("internal-services").EnrollParticipantAsync(request);

        var byNumber = new GetParticipantRequest { ParticipantNumber = enrolled.ParticipantNumber };
        var audited = (await fixture.Host.Client("auditor-bpk").GetParticipantAsync(byNumber)).Participant;
        Assert.Equal(request.Nik[..4] + new string('\u2022', 8) + request.Nik[^4..], audited.Nik);
        Assert.DoesNotContain(request.Nik[4..12], audited.Nik, StringComparison.Ordinal);
        // The rest of the participant is what the audit needs, unchanged.
        Assert.Equal(enrolled.ParticipantNumber, audited.ParticipantNumber);
        Assert.Equal(request.FullName, audited.FullName);
        Assert.Equal(2, audited.Coverages.Count);

        // Looking up by a NIK the auditor already holds still works, and still answers it masked.
        var byNik = (await fixture.Host.Client("auditor-bpk").GetParticipantAsync(new GetParticipantRequest { Nik = request.Nik })).Participant;
        Assert.Equal(audited.Nik, byNik.Nik);

        Assert.Equal(request.Nik, (await fixture.Host.Client("internal-services").GetParticipantAsync(byNumber)).Participant.Nik);
    }
}
