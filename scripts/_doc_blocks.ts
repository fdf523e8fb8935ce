// Code blocks of the Markdown documentation that the tests and the npm checks run as written. A
// block is named by an HTML comment just before its fence, `<!-- block: NAME -->`, which GitHub,
// JSR and npm do not show.

/** A named block: its name, the fence's language, its code and the fence's line (from 1). */
export interface DocBlock {
  name: string;
  lang: string;
  code: string;
  line: number;
}

/** Every named block of `markdown`, in order. */
export function namedBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const name = lines[i].match(/^<!-- block: (\S+) -->$/)?.[1];
    if (!name) continue;
    let start = i + 1;
    while (lines[start] === "") start++; // deno fmt puts a blank line after the comment
    const fence = lines[start]?.match(/^```(\w*)$/);
    if (!fence) throw new Error(`line ${i + 1}: no code fence right after the block '${name}'`);
    const end = lines.indexOf("```", start + 1);
    if (end < 0) throw new Error(`line ${start + 1}: the block '${name}' is not closed`);
    blocks.push({
      name,
      lang: fence[1],
      code: lines.slice(start + 1, end).join("\n") + "\n",
      line: start + 1,
    });
  }
  return blocks;
}

/** The block named `name` in `markdown` (whose file is `file`, for the error). */
export function namedBlock(markdown: string, name: string, file: string): DocBlock {
  const block = namedBlocks(markdown).find((b) => b.name === name);
  if (!block) throw new Error(`${file}: no block named '${name}' (<!-- block: ${name} -->)`);
  return block;
}
