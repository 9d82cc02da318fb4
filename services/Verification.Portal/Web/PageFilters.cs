using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Portal.Sessions;

namespace Verification.Portal.Web;

/// <summary>A page anyone may open (the sign-in page).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AnonymousPageAttribute : Attribute;

/// <summary>Sends a visitor without a live session to the sign-in page, remembering where they were going.</summary>
public sealed class SignedInFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (context.HandlerInstance.GetType().IsDefined(typeof(AnonymousPageAttribute), inherit: false)
            || PortalSessionMiddleware.SessionOf(context.HttpContext) is not null)
        {
            await next();
            return;
        }

        var http = context.HttpContext;
        var back = "kembali=" + Uri.EscapeDataString(http.Request.Path.Value ?? "/");
        // A cookie whose session is gone (idle too long, past its lifetime, or the portal restarted): say so, and drop it.
        if (http.Request.Cookies.ContainsKey(PortalSessionMiddleware.CookieNameFor(http.Request)))
        {
            PortalSessionMiddleware.ClearCookie(http);
            context.Result = new RedirectResult("/masuk?berakhir=1&" + back);
            return;
        }

        context.Result = new RedirectResult("/masuk?" + back);
    }
}

/// <summary>What a page shows when a module refused or failed its call.</summary>
public sealed record ProblemView(string TitleKey, string MessageKey, string? Detail, IReadOnlyList<(string Field, string Description)> Fields);

/// <summary>
/// Turns a module's refusal into a page in the member's language: PERMISSION_DENIED (already audited by the module) is the
/// access-denied page, an unknown or revoked token ends the session, an outage asks to try again.
/// </summary>
public sealed class RpcProblemFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        if (executed.Exception is not RpcException rpc || executed.ExceptionHandled) return;
        executed.ExceptionHandled = true;
        var http = context.HttpContext;
        if (rpc.StatusCode == StatusCode.Unauthenticated)
        {
            if (PortalSessionMiddleware.SessionOf(http) is { } session) http.RequestServices.GetRequiredService<MemberSessions>().End(session);
            PortalSessionMiddleware.ClearCookie(http);
            executed.Result = new RedirectResult("/masuk?berakhir=1");
            return;
        }

        executed.Result = Render(http, rpc);
    }

    public static IActionResult Render(HttpContext http, RpcException rpc)
    {
        var (status, title, message) = rpc.StatusCode switch
        {
            StatusCode.PermissionDenied => (StatusCodes.Status403Forbidden, "ProblemDeniedTitle", "ProblemDenied"),
            StatusCode.NotFound => (StatusCodes.Status404NotFound, "ProblemNotFoundTitle", "ProblemNotFound"),
            StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition or StatusCode.AlreadyExists
                => (StatusCodes.Status400BadRequest, "ProblemInvalidTitle", "ProblemInvalid"),
            StatusCode.ResourceExhausted => (StatusCodes.Status429TooManyRequests, "ProblemBusyTitle", "ProblemBusy"),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled => (StatusCodes.Status503ServiceUnavailable, "ProblemUnavailableTitle", "ProblemUnavailable"),
            _ => (StatusCodes.Status500InternalServerError, "ProblemErrorTitle", "ProblemError"),
        };
        var fields = rpc.GetDetail<BadRequest>()?.FieldViolations.Select(v => (v.Field, v.Description)).ToList() ?? [];
        var view = new ViewResult
        {
            ViewName = "/Pages/Shared/Problem.cshtml",
            StatusCode = status,
            ViewData = new ViewDataDictionary(new EmptyModelMetadataProvider(), new ModelStateDictionary())
            {
                Model = new ProblemView(title, message, rpc.Status.Detail, fields),
            },
        };
        return view;
    }
}
