// Command ringback is the one Ringback binary: the server, operator and
// tenant administration commands, storage tools and the simulator. Each
// subcommand lives in its own file and registers itself on the root command.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the top of the command tree; subcommands add themselves in init.
var rootCmd = &cobra.Command{
	Use:           "ringback",
	Short:         "Ringback: multi-tenant callback routing for contact centers",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ringback:", err)
		os.Exit(1)
	}
}
