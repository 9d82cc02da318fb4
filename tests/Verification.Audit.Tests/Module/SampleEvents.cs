using System.Reflection;
using Verification.Audit.Consumers;
using Verification.Contracts.Events;
using Verification.Platform.Privacy;
using Verification.Testing;

namespace Verification.Audit.Tests.Module;

/// <summary>Builds an instance of any event record from its constructor, so every event type (present and future) is exercised.</summary>
public static class SampleEvents
{
    /// <summary>A structurally valid NIK (Semarang, woman born 5 Jan 1990).</summary>
    public const string Nik = "3374014501900001";

    public const string MaskedNik = "3374••••••••0001";

    private static int _sequence;

    private static readonly SealedNik Unsealed = new("", "");

    /// <summary>Seals to the test process's key pair, which <see cref="AuditTestHost"/> opens with.</summary>
    public static readonly NikSealer Sealer = new(NikSealing.ReadPublicKey(TestNikKeys.PublicKeyPath));

    /// <summary>Opens what <see cref="Sealer"/> sealed, for intakes built by hand.</summary>
    public static NikOpener Opener() => new([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]);

    /// <summary>One event of <paramref name="type"/>; NIK properties get <paramref name="nik"/>, other values are unique per call.</summary>
    public static IIntegrationEvent Create(Type type, string nik = Nik, Action<string, object?[], int>? adjust = null)
    {
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var parameters = constructor.GetParameters();
        var n = Interlocked.Increment(ref _sequence);
        var values = parameters.Select(p => Value(p, nik, n)).ToArray();
        for (var i = 0; i < parameters.Length; i++)
        {
            adjust?.Invoke(parameters[i].Name!, values, i);
        }

        // Sealed last, to the event id it ends up with, unless the adjustment set it.
        var eventId = (Guid)values[Array.FindIndex(parameters, p => p.Name == nameof(IIntegrationEvent.EventId))]!;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (ReferenceEquals(values[i], Unsealed)) values[i] = Sealer.Seal(nik, eventId);
        }

        return (IIntegrationEvent)constructor.Invoke(values);
    }

    /// <summary>Every event type, one instance each.</summary>
    public static List<IIntegrationEvent> OneOfEach(string nik = Nik) => [.. AuditConsumers.EventTypes.Select(t => Create(t, nik))];

    /// <summary>An AccessDenied with the given correlation id, the cheapest event to make many of.</summary>
    public static AccessDenied Denial(string correlationId = "corr", string member = "bank-bri") =>
        new(Guid.NewGuid(), DateTimeOffset.UtcNow, correlationId, member, "access", member, "Bank", "/verification.audit.v1.AuditService/GetTreeHead", "role Bank may not call this method", "");

    private static object? Value(ParameterInfo parameter, string nik, int n)
    {
        var name = parameter.Name!;
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (type == typeof(Guid))
        {
            return Guid.NewGuid();
        }

        if (type == typeof(DateTimeOffset))
        {
            return DateTimeOffset.UtcNow;
        }

        if (type == typeof(long) || type == typeof(int))
        {
            return Convert.ChangeType(1000 + n, type, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (type == typeof(SealedNik))
        {
            return Unsealed;
        }

        if (type == typeof(bool))
        {
            return true;
        }

        if (type == typeof(string[]))
        {
            return new[] { "JKK", "JKM" };
        }

        if (type != typeof(string))
        {
            throw new NotSupportedException($"{parameter.Member.DeclaringType?.Name}.{name}: add a sample for {type.Name}.");
        }

        return name switch
        {
            "Nik" => nik,
            "MaskedNik" => MaskedNik,
            "ParticipantNumber" => $"{10000000000 + n}",
            "LoanReference" => $"SIKP-{n:D6}",
            "BatchId" => $"batch-{n}",
            "BankCode" => "002",
            "MemberCode" => "bank-bri",
            "ActingMember" => "bank-bri",
            "SourceModule" => "sample",
            "CorrelationId" => $"corr-{n}",
            "EmployerNumber" => "11000001",
            _ => $"{name}-{n}",
        };
    }
}
