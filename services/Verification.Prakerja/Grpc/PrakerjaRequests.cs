using System.Runtime.CompilerServices;
using Grpc.Core;
using Google.Protobuf.Collections;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Domain;
using Verification.Prakerja.Features.Submit;

namespace Verification.Prakerja.Grpc;

/// <summary>The PMO's request streams as the features read them, one message at a time as it arrives.</summary>
public static class PrakerjaRequests
{
    public static async IAsyncEnumerable<UploadMessage> UploadMessages(
        IAsyncStreamReader<SubmitBatchRequest> requests, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await requests.MoveNext(cancellationToken))
        {
            var request = requests.Current;
            yield return request.ContentCase switch
            {
                SubmitBatchRequest.ContentOneofCase.Header => new UploadMessage.Header(
                    new UploadHeader(request.Header.Label, request.Header.Cohort, request.Header.IdempotencyKey)),
                SubmitBatchRequest.ContentOneofCase.Chunk => new UploadMessage.Recipients(Lines(request.Chunk.Recipients)),
                _ => new UploadMessage.Empty(),
            };
        }
    }

    public static async IAsyncEnumerable<IReadOnlyList<RecipientLine>> CrossCheckMessages(
        IAsyncStreamReader<CrossCheckRequest> requests, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await requests.MoveNext(cancellationToken)) yield return Lines(requests.Current.Recipients);
    }

    private static RecipientLine[] Lines(RepeatedField<Recipient> recipients)
    {
        var lines = new RecipientLine[recipients.Count];
        for (var i = 0; i < lines.Length; i++) lines[i] = new RecipientLine(recipients[i].RowId, recipients[i].Nik, recipients[i].Cohort);
        return lines;
    }
}
