// Command params puts Switchboard's secrets in SSM from a local file and
// checks, before a deploy, that every SSM parameter the stack will name
// exists — so a missing or misspelt one fails here, not at a function's
// first cold start.
//
//	go run ./scripts/params write -env deploy.env [-prefix /switchboard]
//	go run ./scripts/params check [-overrides 'TwilioAuthTokenParam=/x …']
//
// write reads KEY=value lines (# comments; a value @path reads a file, for
// the routing document), puts each as a SecureString named
// <prefix>/<key in kebab case> (overwriting), never printing a value, and
// prints the sam deploy --parameter-overrides that name them. The file
// holds secrets: keep it out of git (*.env is ignored).
//
// check reads template.yaml's *Param parameters, takes each one's value
// from -overrides (sam deploy's syntax) or its default, and reads them all
// with GetParameters: a non-empty name that does not exist is an error.
// SSM_ENDPOINT points both at a local SSM (moto) for tests.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"gopkg.in/yaml.v3"
)

// SSM is the part of the SSM client the command uses.
type SSM interface {
	PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameters(context.Context, *ssm.GetParametersInput, ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// templateParam maps an environment name (TWILIO_AUTH_TOKEN) to the
// template parameter that names its SSM parameter (TwilioAuthTokenParam).
func templateParam(key string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(key), "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return strings.ReplaceAll(b.String(), "Wechat", "WeChat") + "Param"
}

// Entry is one secret of the file.
type Entry struct{ Key, Value string }

// ReadEnv reads KEY=value lines; @path values are read from the file.
func ReadEnv(r io.Reader, readFile func(string) ([]byte, error)) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ToUpper(k) != k || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: want KEY=value with an upper-case KEY", n)
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "@") {
			b, err := readFile(v[1:])
			if err != nil {
				return nil, fmt.Errorf("line %d (%s): %w", n, k, err)
			}
			v = string(b)
		}
		if v == "" {
			return nil, fmt.Errorf("line %d (%s): empty value", n, k)
		}
		out = append(out, Entry{Key: k, Value: v})
	}
	return out, sc.Err()
}

// Write puts each entry under prefix and returns the overrides naming them.
func Write(ctx context.Context, api SSM, prefix string, entries []Entry) ([]string, error) {
	var overrides []string
	for _, e := range entries {
		name := strings.TrimSuffix(prefix, "/") + "/" + strings.ReplaceAll(strings.ToLower(e.Key), "_", "-")
		if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(e.Value),
			Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			return nil, fmt.Errorf("put %s: %w", name, err)
		}
		overrides = append(overrides, templateParam(e.Key)+"="+name)
	}
	return overrides, nil
}

// Named is every *Param parameter of the template with the SSM name it
// will have: the override, else the default ("" for a channel left off).
func Named(template []byte, overrides string) (map[string]string, error) {
	var doc struct {
		Parameters map[string]struct {
			Default any `yaml:"Default"`
		} `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	out := map[string]string{}
	for name, p := range doc.Parameters {
		if strings.HasSuffix(name, "Param") {
			out[name] = fmt.Sprint(p.Default)
			if p.Default == nil {
				out[name] = ""
			}
		}
	}
	for _, kv := range strings.Fields(overrides) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("override %q: want Name=value", kv)
		}
		if _, known := out[k]; known {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out, nil
}

// Check reads every named parameter; it returns the ones that do not exist
// (as "TemplateParam (name)").
func Check(ctx context.Context, api SSM, named map[string]string) ([]string, error) {
	byName := map[string][]string{}
	var names []string
	for param, name := range named {
		if name == "" {
			continue
		}
		if _, ok := byName[name]; !ok {
			names = append(names, name)
		}
		byName[name] = append(byName[name], param)
	}
	slices.Sort(names)
	var missing []string
	for len(names) > 0 {
		batch := names[:min(10, len(names))]
		names = names[len(batch):]
		out, err := api.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(false)})
		if err != nil {
			return nil, fmt.Errorf("read SSM: %w", err)
		}
		for _, n := range out.InvalidParameters {
			for _, p := range byName[n] {
				missing = append(missing, p+" ("+n+")")
			}
		}
	}
	slices.Sort(missing)
	return missing, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "params:", err)
		os.Exit(1)
	}
}

func client(ctx context.Context) (*ssm.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if ep := os.Getenv("SSM_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}), nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: params write -env FILE [-prefix /switchboard] | params check [-overrides '…'] [-template template.yaml]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	envFile := fs.String("env", "", "KEY=value file of secrets (write)")
	prefix := fs.String("prefix", "/switchboard", "SSM name prefix (write)")
	overrides := fs.String("overrides", "", "sam deploy --parameter-overrides (check)")
	tpl := fs.String("template", "template.yaml", "the template (check)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	api, err := client(ctx)
	if err != nil {
		return err
	}
	switch args[0] {
	case "write":
		f, err := os.Open(*envFile)
		if err != nil {
			return err
		}
		defer f.Close()
		entries, err := ReadEnv(f, os.ReadFile)
		if err != nil {
			return fmt.Errorf("%s: %w", *envFile, err)
		}
		ov, err := Write(ctx, api, *prefix, entries)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %d SecureStrings under %s; deploy with:\n  --parameter-overrides %s\n", len(ov), *prefix, strings.Join(ov, " "))
		return nil
	case "check":
		raw, err := os.ReadFile(*tpl)
		if err != nil {
			return err
		}
		named, err := Named(raw, *overrides)
		if err != nil {
			return err
		}
		missing, err := Check(ctx, api, named)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("these SSM parameters the stack names do not exist: %s", strings.Join(missing, ", "))
		}
		fmt.Fprintf(out, "every SSM parameter the stack names exists (%d set)\n", len(named))
		return nil
	}
	return fmt.Errorf("unknown command %q (write or check)", args[0])
}
