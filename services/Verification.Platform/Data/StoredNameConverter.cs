using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Verification.Platform.Data;
using Verification.Domain;

namespace Verification.Platform.Data;

/// <summary>EF Core's converter for enums stored by their <see cref="StoredNames"/>.</summary>
public static class StoredNameConverter
{
    public static ValueConverter<TEnum, string> For<TEnum>() where TEnum : struct, Enum => new(v => StoredNames.Of(v), s => StoredNames.Parse<TEnum>(s));
}
