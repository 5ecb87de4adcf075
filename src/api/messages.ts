/**
 * Validation messages in plain words ("must not be empty", "is required") instead of zod's
 * defaults ("Too small: expected string to have >=1 characters"): the API's `errors[].message`
 * and what the console shows next to a field. A schema's own message still wins.
 */
import type { z } from 'zod';

/** JSON's own type names, as API callers know them. */
const THINGS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number (integer)',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'an array',
};

const quoted = (v: unknown) => (typeof v === 'string' ? `"${v}"` : String(v));

/** The message for an issue whose schema gave none; undefined leaves zod's own. */
export function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${THINGS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${quoted(issue.values[0])}`
        : `must be one of ${issue.values.map(quoted).join(', ')}`;
    case 'too_small': {
      const n = Number(issue.minimum);
      // The bound is named even for "empty": a caller checks the number.
      if (issue.origin === 'string')
        return n === 1 ? 'must not be empty (at least 1 character)' : `must be at least ${n} characters`;
      if (issue.origin === 'array') return n === 1 ? 'must not be empty (at least 1 entry)' : `must have at least ${n} entries`;
      return issue.inclusive === false ? `must be more than ${n}` : `must be at least ${n}`;
    }
    case 'too_big': {
      const n = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${n} characters`;
      if (issue.origin === 'array') return `must have at most ${n} entries`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
    }
    case 'invalid_format':
      if (issue.format === 'email') return 'must be an email address, e.g. name@example.com';
      if (issue.format === 'date' || issue.format === 'datetime')
        return 'must be a date (YYYY-MM-DD) or a date and time with an offset (ISO 8601)';
      return 'is not in the expected format';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}
