/** Neutralising untrusted log text before it reaches a terminal, Markdown, HTML or a mail header. */

// C0 and C1 controls (tab excepted), DEL, the bidi overrides that can disguise text, and the
// noncharacters (U+FFFE, U+FFFF, U+FDD0…: not text; an HTML parser reports them as errors).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\p{Noncharacter_Code_Point}]/gu;

/** Replace control characters (escape sequences included) with visible \xNN / \u{N} forms. */
export function safeText(s: string): string {
  return s.replace(CONTROL, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** Escape for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return safeText(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escape for Markdown inline text (also neutralises HTML). */
export function escapeMarkdown(s: string): string {
  return safeText(s).replace(/[\\`*_{}[\]()<>#+!|~]/g, '\\$&');
}

// C1 controls (U+0080–U+009F: U+009B is a one-byte CSI to many terminals), the bidi overrides and
// isolates, and the line and paragraph separators: JSON.stringify leaves them as they are
const JSON_UNSAFE = /[\u0080-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON.stringify, with the characters that can fool a terminal or a viewer written as \uXXXX escapes (same value). */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
