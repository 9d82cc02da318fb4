namespace Verification.Platform.Access;

/// <summary>A member's own limits in the members file (<c>"limits": { "ratePerSecond": 50, ... }</c>); what is unset takes the host's default.</summary>
public sealed record MemberLimits
{
    /// <summary>Calls per second (denied calls included).</summary>
    public int? RatePerSecond { get; init; }

    /// <summary>Calls above the sustained rate at once.</summary>
    public int? Burst { get; init; }

    /// <summary>Items per second (NIKs, rows, recipients) of batch and streaming methods.</summary>
    public int? ItemsPerSecond { get; init; }

    /// <summary>Items above the sustained item rate at once.</summary>
    public int? ItemBurst { get; init; }
}
