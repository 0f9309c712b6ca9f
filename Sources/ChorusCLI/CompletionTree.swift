/// The commands, subcommands and options of `chorus` arranged for shell completion, and the
/// bash and zsh scripts written from them.
///
/// Invariant: every top-level command appears once, in `Chorus.commands` order; a command's
/// subcommands are the specs named "COMMAND SUB", in `specs` order; the scripts quote every
/// help text for their shell, so no text can end a quoted word early.
struct CompletionTree {
    struct Node {
        var name: String
        var summary: String
        var options: [CommandSpec.Option]
        var subcommands: [Node]
        /// Words offered where a positional argument goes (`completion`'s shells).
        var positionals: [String] = []
        /// True when everything after `--` is a command line of its own (`lock acquire`).
        var runsCommand = false
    }

    var commands: [Node]

    init(commands: [(String, String)], specs: [CommandSpec]) {
        self.commands = commands.map { name, summary in
            let own = specs.first { $0.name == name }
            let subs = specs.filter { $0.name.hasPrefix(name + " ") }.map { spec in
                Node(name: String(spec.name.dropFirst(name.count + 1)), summary: spec.summary, options: spec.options,
                     subcommands: [], runsCommand: spec.name == "lock acquire")
            }
            return Node(name: name, summary: summary, options: own?.options ?? [], subcommands: subs,
                        positionals: name == "completion" ? ["bash", "zsh"] : [])
        }
    }

    // MARK: bash

    var bashScript: String {
        var s = """
        # bash completion for chorus: source <(chorus completion bash)
        _chorus() {
            local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
            local cmd="" sub="" at=0 i
            for ((i = 1; i < COMP_CWORD; i++)); do
                if [[ ${COMP_WORDS[i]} != -* ]]; then cmd=${COMP_WORDS[i]}; at=$i; break; fi
            done
            if ((at > 0 && at + 1 < COMP_CWORD)); then sub=${COMP_WORDS[at+1]}; fi
            local opts="" valued="" files="" dirs="" words="" passthrough=0
            case $cmd in

        """
        for c in commands {
            s += "    \(c.name))\n"
            if c.subcommands.isEmpty {
                s += bashCase(c, indent: "        ")
            } else {
                s += "        case $sub in\n"
                for sub in c.subcommands {
                    s += "        \(sub.name))\n" + bashCase(sub, indent: "            ") + "            ;;\n"
                }
                s += "        *) words=\"\(c.subcommands.map(\.name).joined(separator: " "))\" ;;\n"
                s += "        esac\n"
            }
            s += "        ;;\n"
        }
        s += """
            *) words="\(commands.map(\.name).joined(separator: " ")) --help" ;;
            esac
            if ((passthrough)); then
                for ((i = at + 1; i < COMP_CWORD; i++)); do
                    if [[ ${COMP_WORDS[i]} == -- || ${COMP_WORDS[i]} == --exec ]]; then
                        COMPREPLY=($(compgen -c -- "$cur")); return
                    fi
                done
            fi
            if [[ " $dirs " == *" $prev "* ]]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi
            if [[ " $files " == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
            if [[ " $valued " == *" $prev "* ]]; then COMPREPLY=(); return; fi
            if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi
            COMPREPLY=($(compgen -W "$words" -- "$cur"))
        }
        complete -F _chorus chorus

        """
        return s
    }

    private func bashCase(_ node: Node, indent: String) -> String {
        let valued = node.options.filter { $0.value != nil }
        var s = indent + "opts=\"\(node.options.map(\.name).joined(separator: " "))\"\n"
        s += indent + "valued=\"\(valued.map(\.name).joined(separator: " "))\"\n"
        s += indent + "files=\"\(valued.filter { $0.value == "FILE" }.map(\.name).joined(separator: " "))\"\n"
        s += indent + "dirs=\"\(valued.filter { $0.value == "DIR" }.map(\.name).joined(separator: " "))\"\n"
        if !node.positionals.isEmpty { s += indent + "words=\"\(node.positionals.joined(separator: " "))\"\n" }
        if node.runsCommand { s += indent + "passthrough=1\n" }
        return s
    }

    // MARK: zsh

    var zshScript: String {
        var s = """
        #compdef chorus
        # zsh completion for chorus: source <(chorus completion zsh), after compinit
        _chorus() {
          local -a choices
          if (( CURRENT == 2 )); then
            choices=(\(commands.map { zshQuoted("\($0.name):\(firstSentence($0.summary))") }.joined(separator: " ")))
            _describe -t commands 'chorus command' choices
            return
          fi
          local cmd=$words[2]
          shift words; (( CURRENT-- ))
          case $cmd in

        """
        for c in commands {
            s += "    \(zshPattern(c.name)))\n"
            if c.subcommands.isEmpty {
                s += "      " + zshArguments(c) + "\n"
            } else {
                s += "      if (( CURRENT == 2 )); then\n"
                s += "        choices=(\(c.subcommands.map { zshQuoted("\($0.name):\(firstSentence($0.summary))") }.joined(separator: " ")))\n"
                s += "        _describe -t commands 'chorus \(c.name) subcommand' choices\n"
                s += "        return\n"
                s += "      fi\n"
                s += "      local sub=$words[2]\n"
                s += "      shift words; (( CURRENT-- ))\n"
                s += "      case $sub in\n"
                for sub in c.subcommands { s += "        \(zshPattern(sub.name))) " + zshArguments(sub) + " ;;\n" }
                s += "      esac\n"
            }
            s += "      ;;\n"
        }
        s += """
          esac
        }
        if [[ $funcstack[1] == _chorus ]]; then _chorus "$@"; else compdef _chorus chorus; fi

        """
        return s
    }

    private func zshArguments(_ node: Node) -> String {
        var specs = node.options.map { o -> String in
            let explanation = firstSentence(o.help).replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "[", with: "\\[").replacingOccurrences(of: "]", with: "\\]")
            var spec = (o.repeatable ? "*" : "") + o.name + "[\(explanation)]"
            if let value = o.value {
                let message = value.replacingOccurrences(of: ":", with: "\\:")
                let action = value == "FILE" ? "_files" : value == "DIR" ? "_files -/" : " "
                spec += ":\(message):\(action)"
            }
            return zshQuoted(spec)
        }
        if !node.positionals.isEmpty { specs.append(zshQuoted("1:shell:(\(node.positionals.joined(separator: " ")))")) }
        if node.runsCommand { specs.append(zshQuoted("*::command:_normal")) }
        return "_arguments -s " + specs.joined(separator: " ")
    }

    /// A case pattern matching the word exactly (names are plain words, but quote anyway).
    private func zshPattern(_ name: String) -> String { zshQuoted(name) }

    /// `text` in single quotes, each `'` written as `'\''`.
    private func zshQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The help text up to the end of its first sentence, without the full stop.
    private func firstSentence(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        if let end = line.range(of: ". ") { return String(line[..<end.lowerBound]) }
        return line.hasSuffix(".") ? String(line.dropLast()) : line
    }
}
