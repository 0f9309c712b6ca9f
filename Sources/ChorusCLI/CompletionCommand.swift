/// `chorus completion bash|zsh`: prints a completion script for the shell, made from the
/// grammar of every command (`Chorus.specs`), so that it names exactly the commands,
/// subcommands and options this binary accepts.
enum CompletionCommand {
    static let spec = CommandSpec(
        name: "completion",
        summary: "Print a shell completion script for bash or zsh.",
        usage: "chorus completion bash|zsh",
        options: [],
        details: """
        bash: source <(chorus completion bash)   (or save it in /etc/bash_completion.d/chorus)
        zsh:  source <(chorus completion zsh)    (after compinit; or save it as _chorus in $fpath)
        """)

    static func run(_ args: [String]) throws -> Int32 {
        let p = try spec.parse(args)
        if p.wantsHelp { print(spec.helpText); return 0 }
        guard p.positionals.count == 1, let shell = p.positionals.first else {
            throw UsageError("chorus completion needs one shell: bash or zsh")
        }
        let tree = CompletionTree(commands: Chorus.commands, specs: Chorus.specs)
        switch shell {
        case "bash": print(tree.bashScript, terminator: "")
        case "zsh": print(tree.zshScript, terminator: "")
        default: throw UsageError("chorus completion knows bash and zsh, not \"\(shell)\"")
        }
        return 0
    }
}
