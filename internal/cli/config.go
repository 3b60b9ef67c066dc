package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v4"
)

// Settings of serve come, for each flag, from the first of: the flag, its
// SLUICE_<FLAG> variable (upper case, - as _), the key named as the flag in
// the config file (--config, else SLUICE_CONFIG; YAML, or TOML for a .toml
// file), the default. A bad value is an error naming where it came from.

// envName returns the variable of a flag: SLUICE_MAX_RUNNING for max-running.
func envName(flag string) string {
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// notConfigurable are the flags that only make sense on the command line.
var notConfigurable = map[string]bool{"help": true, "config": true, "version": true}

// secretSettings are shown only as set or unset by config show.
var secretSettings = map[string]bool{"database-url": true}

// readConfigFile returns the settings of a config file by flag name, with
// nested tables flattened by "-" (kafka: {brokers: x} is kafka-brokers).
func readConfigFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, invalid("--config: %w", err)
	}
	raw := map[string]any{}
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		if _, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&raw); err != nil {
			return nil, invalid("--config %s: %w", path, err)
		}
	} else if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, invalid("--config %s: %w", path, err)
	}
	out := map[string]string{}
	var flatten func(prefix string, m map[string]any) error
	flatten = func(prefix string, m map[string]any) error {
		for k, v := range m {
			key := prefix + k
			switch x := v.(type) {
			case map[string]any:
				if err := flatten(key+"-", x); err != nil {
					return err
				}
			case []any:
				parts := make([]string, len(x))
				for i, e := range x {
					parts[i] = fmt.Sprint(e)
				}
				out[key] = strings.Join(parts, ",")
			case nil:
			default:
				out[key] = fmt.Sprint(x)
			}
		}
		return nil
	}
	if err := flatten("", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// settingSource is where one setting's value came from.
type settingSource struct {
	Name, Value, Source string
}

// applyConfig fills the flags of c that were not given from the
// environment, then from the config file, and returns every setting with
// its source. An unknown key in the file, or a bad value, is an error
// naming the variable or the file and key.
func (a *app) applyConfig(c *cobra.Command, file string) ([]settingSource, error) {
	if file == "" {
		file = a.io.Getenv("SLUICE_CONFIG")
	}
	fromFile := map[string]string{}
	if file != "" {
		var err error
		if fromFile, err = readConfigFile(file); err != nil {
			return nil, err
		}
	}
	fl := c.Flags()
	var unknown []string
	for k := range fromFile {
		if f := fl.Lookup(k); f == nil || notConfigurable[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, invalid("--config %s: unknown setting(s) %s (settings are named as the flags of sluice serve: docs/configuration.md)", file, strings.Join(unknown, ", "))
	}
	var out []settingSource
	var ferr error
	fl.VisitAll(func(f *pflag.Flag) {
		if ferr != nil || notConfigurable[f.Name] {
			return
		}
		src := "default"
		switch {
		case f.Changed:
			src = "flag --" + f.Name
		case a.io.Getenv(envName(f.Name)) != "":
			src = envName(f.Name)
			if err := f.Value.Set(a.io.Getenv(envName(f.Name))); err != nil {
				ferr = invalid("%s: %q is not a valid %s", src, a.io.Getenv(envName(f.Name)), f.Value.Type())
				return
			}
		case fromFile[f.Name] != "":
			src = file + ": " + f.Name
			if err := f.Value.Set(fromFile[f.Name]); err != nil {
				ferr = invalid("--config %s: %q is not a valid %s", src, fromFile[f.Name], f.Value.Type())
				return
			}
		}
		out = append(out, settingSource{Name: f.Name, Value: f.Value.String(), Source: src})
	})
	return out, ferr
}

func (a *app) configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", GroupID: groupLocal, Short: "Show the settings serve would run with, and where each comes from"}
	show := &cobra.Command{
		Use:   "show [--config FILE] [serve flags]",
		Short: "Print the effective settings of serve: value and source (flag, SLUICE_* variable, config file, default)",
		Long: `Show prints every setting of sluice serve with its effective value and
where it comes from, by the order flag > SLUICE_* environment > config
file > default, given the same flags, environment and --config as serve
would get. A setting that may hold a secret (database-url) is shown as set
or unset; secrets given by the environment only (SLUICE_MASTER_KEY,
SLUICE_WEBHOOK_SIGNING_KEY, SLUICE_ADMIN_CLIENT_SECRET) likewise.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			settings, err := a.applyConfig(c, c.Flags().Lookup("config").Value.String())
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(settings)+3)
			for _, s := range settings {
				v := s.Value
				if secretSettings[s.Name] {
					v = setOrUnset(v)
				}
				rows = append(rows, []string{s.Name, v, s.Source})
			}
			for _, env := range []string{"SLUICE_MASTER_KEY", "SLUICE_WEBHOOK_SIGNING_KEY", "SLUICE_ADMIN_CLIENT_ID", "SLUICE_ADMIN_CLIENT_SECRET", "SLUICE_KAFKA_SASL_PASSWORD"} {
				rows = append(rows, []string{env, setOrUnset(a.io.Getenv(env)), "environment only"})
			}
			out, _ := newOutput(a.io.Stdout, "text")
			return out.table([]string{"SETTING", "VALUE", "SOURCE"}, rows)
		},
	}
	// The same flags as serve, so that show sees what serve would.
	serve := a.serveCmd()
	show.Flags().AddFlagSet(serve.Flags())
	c.AddCommand(show)
	return c
}

func setOrUnset(v string) string {
	if v == "" {
		return "(unset)"
	}
	return "(set)"
}
