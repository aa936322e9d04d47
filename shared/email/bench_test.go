package email

import (
	"bytes"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"
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
