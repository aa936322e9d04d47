// Package lambdatest runs function binaries as Lambda does, for tests and
// benchmarks: Build compiles a function's bootstrap with the flags SAM's
// deployment uses, and Start runs it against a small Lambda Runtime API
// server (the protocol the provided.al2023 runtime speaks), so a mistake in
// a main or in its environment wiring fails a test.
//
// See https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildFlags are the deployment's: static, stripped, trimmed, no RPC mode.
var BuildFlags = []string{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w"}

// Build compiles the packages (relative to the module root root, as
// "./functions/messaging") for goarch in one go build, into dir, and returns
// each binary's path by package base name ("messaging").
func Build(t testing.TB, root, goarch, dir string, pkgs ...string) map[string]string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append(append(BuildFlags, "-o", abs+string(filepath.Separator)), pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %v: %v\n%s", pkgs, err, b)
	}
	out := map[string]string{}
	for _, p := range pkgs {
		out[filepath.Base(p)] = filepath.Join(abs, filepath.Base(p))
	}
	return out
}

// NativeArch is the architecture binaries run as here (the deployment is
// arm64; the flags are the same).
func NativeArch() string { return runtime.GOARCH }

type invocation struct {
	id      string
	payload []byte
	done    chan result
}

type result struct {
	body  []byte
	isErr bool
}

// Function is a running bootstrap and its Runtime API.
type Function struct {
	t       testing.TB
	srv     *httptest.Server
	cmd     *exec.Cmd
	next    chan invocation
	mu      sync.Mutex
	pending map[string]invocation
	seq     int
	// Ready is closed at the first GET /next: init is over.
	Ready   chan struct{}
	started time.Time
	// InitDuration is from process start to its first GET /next.
	InitDuration time.Duration
	initErr      chan string
	output       *strings.Builder
}

// Start runs binary with env (on top of a minimal Lambda environment) and
// waits until its init is done or failed.
func Start(t testing.TB, binary string, env map[string]string) *Function {
	t.Helper()
	f := &Function{t: t, next: make(chan invocation), pending: map[string]invocation{}, Ready: make(chan struct{}),
		initErr: make(chan string, 1), output: &strings.Builder{}}
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { f.InitDuration = time.Since(f.started); close(f.Ready) })
		select {
		case inv := <-f.next:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(30*time.Second).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:test")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c")
			_, _ = w.Write(inv.payload)
		case <-r.Context().Done():
		}
	})
	answer := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			f.mu.Lock()
			inv, ok := f.pending[r.PathValue("id")]
			delete(f.pending, r.PathValue("id"))
			f.mu.Unlock()
			if ok {
				inv.done <- result{body: body, isErr: isErr}
			}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.initErr <- string(body)
		w.WriteHeader(http.StatusAccepted)
	})
	// Written before the server's goroutines start, so its handlers may read it.
	f.started = time.Now()
	f.srv = httptest.NewServer(mux)

	f.cmd = exec.Command(binary)
	f.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(f.srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=test", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
	}
	for k, v := range env {
		f.cmd.Env = append(f.cmd.Env, k+"="+v)
	}
	f.cmd.Stdout, f.cmd.Stderr = syncWriter{&f.mu, f.output}, syncWriter{&f.mu, f.output}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- f.cmd.Wait() }()
	t.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		f.srv.Close()
	})
	select {
	case <-f.Ready:
	case msg := <-f.initErr:
		t.Fatalf("%s: init failed: %s\n%s", filepath.Base(binary), msg, f.Output())
	case err := <-exited:
		t.Fatalf("%s exited during init: %v\n%s", filepath.Base(binary), err, f.Output())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no init within 20 s\n%s", filepath.Base(binary), f.Output())
	}
	return f
}

type syncWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Output is everything the function printed (its logs).
func (f *Function) Output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.output.String()
}

// ErrFunction is returned for an invocation the function reported as failed.
var ErrFunction = errors.New("function error")

// Invoke sends payload and returns the function's response.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.seq++
	inv := invocation{id: fmt.Sprintf("req-%d", f.seq), payload: payload, done: make(chan result, 1)}
	f.pending[inv.id] = inv
	f.mu.Unlock()
	select {
	case f.next <- inv:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-inv.done:
		if r.isErr {
			return r.body, fmt.Errorf("%w: %s", ErrFunction, r.body)
		}
		return r.body, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
