using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;

namespace Verification.Membership.Tests;

/// <summary>An auditor reads a participant with the NIK and the name masked; the suite's own modules read them whole.</summary>
public sealed class AuditorReadTests(SqliteHostFixture fixture) : IClassFixture<SqliteHostFixture>
{
    [Fact]
    public async Task AnAuditorReadsTheParticipantWithTheNikAndNameMaskedWhileTheModulesReadThemWhole()
    {
        var request = TestData.Bpu();
        var enrolled = await fixture.Host.Client("internal-services").EnrollParticipantAsync(request);

        var byNumber = new GetParticipantRequest { ParticipantNumber = enrolled.ParticipantNumber };
        var audited = (await fixture.Host.Client("auditor-bpk").GetParticipantAsync(byNumber)).Participant;
        Assert.Equal(request.Nik[..4] + new string('\u2022', 8) + request.Nik[^4..], audited.Nik);
        Assert.DoesNotContain(request.Nik[4..12], audited.Nik, StringComparison.Ordinal);
        Assert.Equal("Siti Aminah", request.FullName);
        Assert.Equal("S. A.", audited.FullName);
        // The rest of the participant is what the audit needs, unchanged.
        Assert.Equal(enrolled.ParticipantNumber, audited.ParticipantNumber);
        Assert.Equal(request.BirthDate, audited.BirthDate);
        Assert.Equal(2, audited.Coverages.Count);

        // Looking up by a NIK the auditor already holds still works, and still answers it masked.
        var byNik = (await fixture.Host.Client("auditor-bpk").GetParticipantAsync(new GetParticipantRequest { Nik = request.Nik })).Participant;
        Assert.Equal((audited.Nik, audited.FullName), (byNik.Nik, byNik.FullName));

        var whole = (await fixture.Host.Client("internal-services").GetParticipantAsync(byNumber)).Participant;
        Assert.Equal((request.Nik, request.FullName), (whole.Nik, whole.FullName));
        Assert.Equal(whole.Coverages, audited.Coverages);
    }
}

/// <summary>The name mask an auditor reads: initials only, whatever the spacing, punctuation or script.</summary>
public sealed class AuditorViewInitialsTests
{
    [Theory]
    [InlineData("Siti Nur Aminah", "S. N. A.")]
    [InlineData("  budi   santoso ", "B. S.")]
    [InlineData("Sukarno", "S.")]
    [InlineData("I Gusti Ngurah Rai", "I. G. N. R.")]
    [InlineData("Nur'aini binti 'Abdullah", "N. B. A.")]
    [InlineData("(Alm.) Ahmad Dahlan", "A. A. D.")]
    [InlineData("Étienne Ödegaard", "É. Ö.")]
    [InlineData("- -", "")]
    public void InitialsKeepTheFirstLetterOfEachWordAndNothingElse(string fullName, string expected) =>
        Assert.Equal(expected, Verification.Membership.Grpc.AuditorView.Initials(fullName));

    [Fact]
    public void TheViewMasksACopyAndLeavesTheParticipantItWasGivenWhole()
    {
        var participant = new Participant { ParticipantNumber = "12345678901", Nik = "3201010101900001", FullName = "Dewi Lestari" };
        var masked = Verification.Membership.Grpc.AuditorView.Of(participant);
        Assert.Equal(("3201\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u20220001", "D. L.", "12345678901"), (masked.Nik, masked.FullName, masked.ParticipantNumber));
        Assert.Equal(("3201010101900001", "Dewi Lestari"), (participant.Nik, participant.FullName));
    }
}
