package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
)

func (a *app) apikeyCmd() *cobra.Command {
	return group("apikey", "Manage the API keys host products call the HTTP API with",
		a.apikeyAddCmd(), a.apikeyListCmd(), a.apikeyRevokeCmd())
}

func (a *app) apikeyAddCmd() *cobra.Command {
	var name string
	var perSecond int
	c := &cobra.Command{
		Use:   "add --name APP [--rate N]",
		Short: "Create an API key for a host product; the key is printed once",
		Long: `Create an API key for a host product. The key (actas_…) is printed once
and only its hash is kept: store it in the product's secrets now. The name
is the audience (aud) of the grants the product receives.`,
		Example: `  actas apikey add --name billing
  curl -H "Authorization: Bearer actas_…" http://127.0.0.1:8080/v1/stream`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				k, secret, err := co.AddAPIKey(a.operator(), name, perSecond)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintln(w, secret)
				fmt.Fprintf(cmd.ErrOrStderr(), "added API key %s (%d requests/s); the key above is shown only now\n", k.Name, k.Rate)
				return nil
			})
		},
	}
	c.Flags().StringVar(&name, "name", "", "the product's name, the audience of its grants (required)")
	c.Flags().IntVar(&perSecond, "rate", core.DefaultAPIRate, "requests a second the key may make (bursts of twice that)")
	_ = c.MarkFlagRequired("name")
	return c
}

func (a *app) apikeyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API keys (names, never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				keys, err := co.APIKeys(a.operator())
				if err != nil {
					return err
				}
				rows := make([][]string, 0, len(keys))
				for _, k := range keys {
					state := "active"
					if !k.Active() {
						state = "revoked " + stamp(k.Revoked)
					}
					rows = append(rows, []string{k.Name, state, fmt.Sprint(k.Rate), stamp(k.Created), cell(k.CreatedBy)})
				}
				return writeTable(cmd.OutOrStdout(), []string{"NAME", "STATE", "RATE/S", "CREATED", "BY"}, rows)
			})
		},
	}
}

func (a *app) apikeyRevokeCmd() *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "revoke --name APP",
		Short: "Revoke an API key at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				k, err := co.RevokeAPIKey(a.operator(), name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked API key %s\n", k.Name)
				return nil
			})
		},
	}
	c.Flags().StringVar(&name, "name", "", "the key's name (required)")
	_ = c.MarkFlagRequired("name")
	return c
}

func (a *app) signingKeyCmd() *cobra.Command {
	return group("signing-key", "Manage the key grants for host products are signed with", a.signingKeyRotateCmd())
}

func (a *app) signingKeyRotateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Sign grants with a new key; the old one stays in the JWKS until its grants expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A server holding the folder runs this itself (control
			// socket); its keyring notices the new files at its next
			// signature.
			return a.writeIn(func(co *core.Core, dir string) error {
				if err := co.Authorize(a.operator(), core.CapSettings, "rotating the signing key"); err != nil {
					return err
				}
				kr, err := httpapi.OpenKeyring(dir, co.Now)
				if err != nil {
					return err
				}
				oldKID, newKID, err := kr.Rotate()
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "signing key rotated: new kid %s; the old one (%s) stays in the JWKS for %s\n",
					newKID, oldKID, core.FormatDuration(core.GrantTTL)+" and a minute")
				return nil
			})
		},
	}
}
