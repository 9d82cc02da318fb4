using Microsoft.EntityFrameworkCore;
using Verification.Platform.Data;

namespace Verification.Platform.Access;

/// <summary>The access module's own store: only the outbox that carries AccessDenied events to Audit.</summary>
public sealed class AccessDbContext(DbContextOptions<AccessDbContext> options) : ModuleDbContext(options);
