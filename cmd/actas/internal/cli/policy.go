package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
)

func (a *app) policyCmd() *cobra.Command {
	return group("policy", "Show and change the impersonation policy", a.policyShowCmd(), a.policySetCmd())
}

func (a *app) policyShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the policy, one key = value a line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				if err := co.Authorize(a.operator(), core.CapSettings, "reading the policy"); err != nil {
					return err
				}
				return printPolicy(cmd.OutOrStdout(), co.Policy())
			})
		},
	}
}

func (a *app) policySetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY=VALUE…",
		Short: "Change policy keys, all together or none of them",
		Long: `Change one or more policy keys at once. If any change is invalid, none is
made. Prints the policy afterwards.

Keys: ` + strings.Join(core.PolicyKeys, ", ") + `.
Durations read like 90m, 24h or 3d; booleans true or false; environment
is a label (e.g. production) put in every alert. Alert channels themselves
are managed with actas alert.`,
		Example: "  actas policy set enabled=true max_duration=72h",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := core.ParseAssignments(args)
			if err != nil {
				return err
			}
			return a.write(func(co *core.Core) error {
				p, err := co.SetPolicy(a.operator(), changes)
				if err != nil {
					return fmt.Errorf("%w; nothing changed", err)
				}
				return printPolicy(cmd.OutOrStdout(), p)
			})
		},
	}
}

func printPolicy(w io.Writer, p core.Policy) error {
	bw := bufio.NewWriter(w)
	vals := core.PolicyValues(p)
	for _, k := range core.PolicyKeys {
		fmt.Fprintf(bw, "%s = %s\n", k, core.Display(vals[k]))
	}
	return bw.Flush()
}
