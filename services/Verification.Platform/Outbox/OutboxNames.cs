namespace Verification.Platform.Outbox;

/// <summary>The names a module's outbox goes by, from its DbContext type (outside the generic relay, so callers need no type argument twice).</summary>
public static class OutboxNames
{
    /// <summary>Name of the module's <see cref="OutboxOptions"/>.</summary>
    public static string OptionsOf<TContext>() => typeof(TContext).FullName ?? typeof(TContext).Name;

    /// <summary>The "outbox" tag on the module relay's metrics.</summary>
    public static string TagOf<TContext>() => typeof(TContext).Name;
}
