package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) keyCmd() *cobra.Command {
	return group("key", "Manage the SSH keys people log in to the console with",
		a.keyAddCmd(), a.keyListCmd(), a.keyRemoveCmd())
}

// maxKeyFile bounds what key add reads: a public key is a line, not a file
// of megabytes.
const maxKeyFile = 64 << 10

func (a *app) keyAddCmd() *cobra.Command {
	var email, file string
	c := &cobra.Command{
		Use:   "add --user E --key-file F",
		Short: "Register a public key (one authorized_keys line) for a user",
		Example: `  actas key add --user jane@globex.test --key-file ~/.ssh/id_ed25519.pub
  ssh-add -L | head -1 | actas key add --user jane@globex.test --key-file -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := a.readKeyFile(file)
			if err != nil {
				return err
			}
			return a.write(func(co *core.Core) error {
				k, err := co.AddKey(a.operator(), email, line)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s key %s for %s\n", k.Type, k.Fingerprint, email)
				return nil
			})
		},
	}
	c.Flags().StringVar(&email, "user", "", "email of the key's owner (required)")
	_ = c.MarkFlagRequired("user")
	if a.bound != nil && a.bound.Remote {
		// Over SSH the key can only come on standard input:
		// ssh HOST key add --user E < key.pub
		c.Flags().StringVar(&file, "key-file", "-", "- : the public key on standard input")
		c.Example = "  ssh -p 23234 HOST key add --user jane@globex.test < jane.pub"
	} else {
		c.Flags().StringVar(&file, "key-file", "", "public key file, - for stdin (required)")
		_ = c.MarkFlagRequired("key-file")
	}
	return c
}

func (a *app) readKeyFile(file string) (string, error) {
	b, name, err := a.readNamed(file, "the key file", maxKeyFile)
	if err != nil {
		return "", err
	}
	switch {
	case len(b) > maxKeyFile:
		return "", errorf("%s is too big for a public key", name)
	case bytes.Contains(b, []byte("PRIVATE KEY")):
		return "", errorf("%s holds a private key; give the public one (the .pub file)", name)
	case len(bytes.TrimSpace(b)) == 0:
		return "", errorf("%s is empty", name)
	}
	return string(b), nil
}

func (a *app) keyListCmd() *cobra.Command {
	var email string
	c := &cobra.Command{
		Use:   "list [--user E]",
		Short: "List login keys, everyone's or one user's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				keys, err := co.Keys(a.operator(), email)
				if err != nil {
					return err
				}
				email := emailsOf(co)
				rows := make([][]string, 0, len(keys))
				for _, k := range keys {
					rows = append(rows, []string{k.Fingerprint, cell(email(k.UserID)), k.Type, cell(k.Comment), stamp(k.Added)})
				}
				return writeTable(cmd.OutOrStdout(), []string{"FINGERPRINT", "USER", "TYPE", "COMMENT", "ADDED"}, rows)
			})
		},
	}
	c.Flags().StringVar(&email, "user", "", "only this user's keys")
	return c
}

func (a *app) keyRemoveCmd() *cobra.Command {
	var fp string
	c := &cobra.Command{
		Use:     "remove --fingerprint FP",
		Short:   "Remove a login key",
		Example: "  actas key remove --fingerprint SHA256:3q2+7w…",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.write(func(co *core.Core) error {
				if err := co.RemoveKey(a.operator(), fp); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed key %s\n", fp)
				return nil
			})
		},
	}
	c.Flags().StringVar(&fp, "fingerprint", "", "the key's SHA256:… fingerprint, as key list shows it (required)")
	_ = c.MarkFlagRequired("fingerprint")
	return c
}
