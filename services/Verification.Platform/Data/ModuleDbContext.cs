using Microsoft.EntityFrameworkCore;
using Verification.Platform.Outbox;

namespace Verification.Platform.Data;

/// <summary>
/// Base for a module's DbContext: maps the platform table (the outbox) next to the
/// module's own, on whichever provider the module was given. A context that cannot derive from it
/// calls <see cref="PlatformModel.UsePlatformConventions"/> and <see cref="PlatformModel.ApplyPlatformModel"/> itself.
/// </summary>
public abstract class ModuleDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    /// <summary>Every event of the outbox, one row each, grouped or not (the view <c>outbox_events</c>).</summary>
    public DbSet<OutboxEvent> OutboxEvents => Set<OutboxEvent>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.UsePlatformConventions(Database);

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.ApplyPlatformModel();
}
