/**
 * `herald completion bash|zsh`: a completion script generated from the command tree itself, so it
 * never drifts from the commands. zsh reuses the bash script through bashcompinit.
 */
import { Argument, type Command } from "commander";
import { printLine } from "../output.js";

/** Every command path ("" is herald itself) with the words that may follow it. */
function commandWords(program: Command): Map<string, string[]> {
  const globalOptions = program.options.map((o) => o.long ?? o.short ?? "").filter((o) => o !== "");
  const words = new Map<string, string[]>();
  const walk = (command: Command, path: string) => {
    const options = command === program ? [] : command.options.map((o) => o.long ?? o.short ?? "");
    words.set(path, [
      ...command.commands.map((c) => c.name()),
      ...options.filter((o) => o !== ""),
      ...globalOptions,
      "--help",
    ]);
    for (const sub of command.commands) walk(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(program, "");
  return words;
}

/** The bash completion script for `program`. */
export function bashCompletion(program: Command): string {
  const words = commandWords(program);
  const paths = [...words.keys()].filter((p) => p !== "");
  const cases = [...words].map(([path, list]) => `    "${path}") echo "${list.join(" ")}" ;;`).join("\n");
  return `# herald completion for bash: source <(herald completion bash)
_herald_words() {
  case "$1" in
${cases}
  esac
}
_herald_is_command() {
  case "$1" in
    ${paths.map((p) => `"${p}"`).join("|")}) return 0 ;;
  esac
  return 1
}
_herald() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word next i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    next="\${path:+$path }$word"
    if _herald_is_command "$next"; then path="$next"; fi
  done
  COMPREPLY=($(compgen -W "$(_herald_words "$path")" -- "$cur"))
}
complete -o default -F _herald herald
`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(herald completion bash)")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action((shell: string) => {
      const script = bashCompletion(program);
      if (shell === "zsh") {
        printLine("# herald completion for zsh: source <(herald completion zsh)");
        printLine("autoload -U +X compinit && compinit");
        printLine("autoload -U +X bashcompinit && bashcompinit");
      }
      process.stdout.write(script);
    });
}
