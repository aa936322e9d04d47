package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
)

// big is a 20 MB message: a short text and a ~15 MB attachment.
func big() []byte {
	var b bytes.Buffer
	b.WriteString("From: Ana <ana@example.com>\r\nTo: support@example.com\r\nSubject: the scan\r\nMessage-ID: <big@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := bytes.Repeat([]byte("%PDF scan data "), (20<<20)/20)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 0 && b.Len() < 20<<20-100 {
		n := min(76, len(enc))
		b.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	b.WriteString("--b--\r\n")
	return b.Bytes()
}

// BenchmarkParse20MB reports what reading a 20 MB message costs: the bytes
// allocated per parse and the heap in use afterwards, as multiples of the
// message's size. The raw message is streamed into the parser (the S3 body
// is never read whole first).
// Run: go test -run '^$' -bench Parse20MB -benchmem ./shared/email
func BenchmarkParse20MB(b *testing.B) {
	msg := big()
	b.SetBytes(int64(len(msg)))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var p *Parsed
	for range b.N {
		var err error
		if p, err = Parse(bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(p.Attachments) != 1 || !strings.HasPrefix(string(p.Attachments[0].Content), "%PDF") {
		b.Fatalf("attachments = %d", len(p.Attachments))
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(msg)), "alloc/msgsize")
	b.ReportMetric(float64(after.HeapInuse)/float64(len(msg)), "live-heap/msgsize")
	b.ReportMetric(float64(len(msg))/(1<<20), "MiB")
}

// typical is a 30 KB reply as mail clients send it: DMARC passing, a
// multipart/alternative of a short answer over a quoted history, in text
// and in HTML (quoted-printable), as Outlook and Gmail write them.
func typical(i int) []byte {
	var text, html strings.Builder
	text.WriteString("Yes, order 1042 is the one. Thanks for checking!\r\n\r\nBob\r\n\r\n")
	html.WriteString("<html><head><style>p{margin:0}</style></head><body><div dir=3D\"ltr\"><p>Yes, order 1042 is the one. Thanks for checking!</p><p>Bob</p></div>")
	for n := 0; text.Len() < 9000; n++ {
		fmt.Fprintf(&text, "> On Mon, Support wrote (%d):\r\n> We looked into your order and it ships on Monday from our warehouse.\r\n", n)
		fmt.Fprintf(&html, "<blockquote style=3D\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\"><p>On Mon, Support wrote (%d):</p>"+
			"<p>We looked into your order and it ships on Monday from our warehouse.</p></blockquote>\r\n", n)
	}
	html.WriteString("</body></html>")
	return fmt.Appendf(nil, "Authentication-Results: amazonses.com;\r\n spf=pass envelope-from=bob@contoso.com;\r\n dkim=pass header.i=@contoso.com;\r\n dmarc=pass header.from=contoso.com;\r\n"+
		"From: Bob Smith <bob@contoso.com>\r\nTo: support@example.com\r\nSubject: RE: order 1042\r\nMessage-ID: <bench-%d@contoso.com>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"+
		"--alt\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s\r\n"+
		"--alt\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n--alt--\r\n", i, text.String(), html.String())
}

// BenchmarkEmail30KB is the email intake of a typical 30 KB reply on the
// in-memory store: parse (enmime), cut the quoted history, check the
// sender's authentication, thread, ingest. Run with GOMAXPROCS=1.
func BenchmarkEmail30KB(b *testing.B) {
	svc := &conversation.Service{Store: memstore.New(nil), Team: "support"}
	in := &Intake{Service: svc, Address: "support@example.com", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	msgs := make([][]byte, b.N+1)
	for i := range msgs {
		msgs[i] = typical(i)
	}
	ctx := context.Background()
	if _, err := in.Ingest(ctx, bytes.NewReader(msgs[b.N]), "s3://mail/warm", time.Now()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		res, err := in.Ingest(ctx, bytes.NewReader(msgs[i]), fmt.Sprintf("s3://mail/inbound/%d", i), time.Now())
		if err != nil || res.Duplicate {
			b.Fatalf("ingest: %+v, %v", res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(msgs[0]))/1024, "KB")
}
