// Schema file texts by repository and blob sha. A blob never changes, so each is fetched from GitHub
// once while it stays in this bounded cache: a pull request's base shares most blobs with its head, and
// every push reads the same directory again.
export class BlobCache {
  private readonly texts = new Map<string, string>();
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  get(key: string): string | undefined {
    const text = this.texts.get(key);
    if (text !== undefined) {
      // Most recently used last: the first entry is the one to evict.
      this.texts.delete(key);
      this.texts.set(key, text);
    }
    return text;
  }

  set(key: string, text: string): void {
    if (this.texts.has(key) || text.length > this.maxChars) return;
    this.texts.set(key, text);
    this.chars += text.length;
    for (const [oldest, evicted] of this.texts) {
      if (this.chars <= this.maxChars) break;
      this.texts.delete(oldest);
      this.chars -= evicted.length;
    }
  }
}
