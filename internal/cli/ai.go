package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/ai"
	"github.com/sluice-run/sluice/internal/store"
)

// aiCmd manages AI providers in the data dir's store:
// sluice ai providers add|list|delete. API keys are never given here, only
// the name of the secret that holds one.
func (a *app) aiCmd() *cobra.Command {
	c := &cobra.Command{Use: "ai", Short: "Manage what AI nodes call"}
	pc := &cobra.Command{Use: "providers", Short: "Manage AI providers: OpenAI-compatible chat completions endpoints"}
	var (
		p       store.AIProvider
		headers []string
	)
	add := &cobra.Command{
		Use:   "add NAME --base-url URL --api-key-secret SECRET --model MODEL [--default]",
		Short: "Add an AI provider (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM, ...)",
		Long: `Add an AI provider. --base-url is the URL that /chat/completions is under
(https://api.openai.com/v1, http://127.0.0.1:11434/v1 for Ollama).
--api-key-secret names the organization secret that holds the API key
(sluice secrets set NAME); the key itself is never given here. Leave it out
for a local server without authentication. --model is the model of nodes
that name none. --default makes it the provider of AI nodes that name none.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			p.Name, p.CreatedBy = argv[0], cliActor
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok {
					return invalid("--header %q: must be NAME=VALUE", h)
				}
				if p.Headers == nil {
					p.Headers = map[string]string{}
				}
				p.Headers[strings.TrimSpace(k)] = v
			}
			if err := ai.ValidateProvider(p); err != nil {
				return invalid("%w", aiFlagError(err))
			}
			return a.withStore(c.Context(), func(st store.Store) error {
				ps, err := aiProviderStore(st)
				if err != nil {
					return err
				}
				if err := ps.CreateAIProvider(c.Context(), p); errors.Is(err, store.ErrExists) {
					return invalid("AI provider %s already exists; delete it first to change it", p.Name)
				} else if err != nil {
					return err
				}
				def := ""
				if p.Default {
					def = ", the default"
				}
				fmt.Fprintf(a.io.Stdout, "AI provider %s added (model %s%s)\n", p.Name, p.Model, def)
				a.warnUndefinedSecret(c.Context(), st, "--api-key-secret", p.APIKeySecret, "the AI nodes of provider "+p.Name+" fail")
				return nil
			})
		},
	}
	add.Flags().StringVar(&p.BaseURL, "base-url", "", "the URL that /chat/completions is under")
	add.Flags().StringVar(&p.APIKeySecret, "api-key-secret", "", "the NAME of the secret that holds the API key")
	add.Flags().StringVar(&p.Model, "model", "", "the model of AI nodes that name none")
	add.Flags().BoolVar(&p.Default, "default", false, "make it the provider of AI nodes that name none")
	add.Flags().StringArrayVar(&headers, "header", nil, "an extra header NAME=VALUE (stored and shown: no credentials); repeatable")

	list := &cobra.Command{
		Use:   "list",
		Short: "List AI providers (the key's secret name, never a key)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ps, err := aiProviderStore(st)
				if err != nil {
					return err
				}
				list, err := ps.ListAIProviders(c.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tBASE URL\tMODEL\tAPI KEY SECRET\tDEFAULT\tHEADERS")
				for _, p := range list {
					hs := make([]string, 0, len(p.Headers))
					for k := range p.Headers {
						hs = append(hs, k)
					}
					sort.Strings(hs)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", p.Name, p.BaseURL, p.Model, dash(p.APIKeySecret), p.Default, dash(strings.Join(hs, ",")))
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an AI provider (nodes that name it fail from then on)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ps, err := aiProviderStore(st)
				if err != nil {
					return err
				}
				if err := ps.DeleteAIProvider(c.Context(), argv[0]); errors.Is(err, store.ErrNotFound) {
					return invalid("AI provider %s does not exist", argv[0])
				} else if err != nil {
					return err
				}
				fmt.Fprintf(a.io.Stdout, "AI provider %s deleted\n", argv[0])
				return nil
			})
		},
	}
	pc.AddCommand(add, list, del)
	c.AddCommand(pc)
	return c
}

// aiFlagError renames a field of ValidateProvider as its flag.
func aiFlagError(err error) error {
	msg := err.Error()
	for field, flag := range map[string]string{"name:": "NAME:", "baseUrl:": "--base-url:", "apiKeySecret:": "--api-key-secret:", "model:": "--model:", "headers.": "--header "} {
		if strings.HasPrefix(msg, field) {
			return errors.New(flag + msg[len(field):])
		}
	}
	return err
}

func aiProviderStore(st store.Store) (store.AIProviderStore, error) {
	ps, ok := st.(store.AIProviderStore)
	if !ok {
		return nil, errors.New("this store keeps no AI providers")
	}
	return ps, nil
}

// registerAI registers the AI executor over st's providers and the catalog
// tools over cat (nil: no tools), and the executor that fails AI_AGENT and
// CURSOR_AGENT nodes saying that sluice runs AI nodes only.
func registerAI(reg *node.Registry, st store.Store, cat *catalog.Service) {
	o := ai.Options{}
	if ps, ok := st.(store.AIProviderStore); ok {
		o.Providers = ps
	}
	if cat != nil {
		o.Catalog = cat
	}
	ai.Register(reg, ai.New(o))
}
