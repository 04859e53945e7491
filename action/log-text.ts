// Text from pull requests (table names, file names, runner messages quoting them) printed in the job
// log: one line, bounded. A line break inside it could otherwise start a workflow command
// (`::add-mask::`, `::error::`, `::stop-commands::`) that GitHub would obey.
export function oneLine(text: string, max = 500): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
