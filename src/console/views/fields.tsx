/** @jsxImportSource hono/jsx */
/** Labelled form controls that show the API's field errors next to themselves. */
import type { Child } from 'hono/jsx';
import type { FieldErrors } from '../forms.js';

interface FieldProps {
  name: string;
  label: string;
  errors?: FieldErrors;
  hint?: string;
}

function described(name: string, errors: FieldErrors | undefined, hint: string | undefined) {
  const ids = [hint ? `${name}-hint` : '', errors?.[name] ? `${name}-error` : ''].filter(Boolean).join(' ');
  return { 'aria-describedby': ids || undefined, 'aria-invalid': errors?.[name] ? ('true' as const) : undefined };
}

function Extras({ name, errors, hint }: FieldProps) {
  return (
    <>
      {hint && (
        <p class="hint" id={`${name}-hint`}>
          {hint}
        </p>
      )}
      {errors?.[name] && (
        <p class="field-error" id={`${name}-error`}>
          {errors[name].join('; ')}
        </p>
      )}
    </>
  );
}

export function TextField(
  props: FieldProps & {
    value?: string | number | null;
    type?: string;
    required?: boolean;
    inputmode?: 'text' | 'decimal' | 'numeric' | 'email' | 'url' | 'tel';
    autocomplete?: string;
    maxlength?: number;
  },
) {
  const { name, label, value, type = 'text', required, inputmode, autocomplete, maxlength } = props;
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <input
        id={name}
        name={name}
        type={type}
        value={value ?? ''}
        required={required}
        inputmode={inputmode}
        autocomplete={autocomplete ?? 'off'}
        maxlength={maxlength}
        {...described(name, props.errors, props.hint)}
      />
      <Extras {...props} />
    </div>
  );
}

export function TextArea(props: FieldProps & { value?: string | null; maxlength?: number }) {
  const { name, label, value, maxlength } = props;
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <textarea id={name} name={name} rows={3} maxlength={maxlength} {...described(name, props.errors, props.hint)}>
        {value ?? ''}
      </textarea>
      <Extras {...props} />
    </div>
  );
}

export function SelectField(props: FieldProps & { value?: string | null; options: [string, string][]; required?: boolean }) {
  const { name, label, value, options, required } = props;
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <select id={name} name={name} required={required} {...described(name, props.errors, props.hint)}>
        {options.map(([v, text]) => (
          <option value={v} selected={v === (value ?? '')}>
            {text}
          </option>
        ))}
      </select>
      <Extras {...props} />
    </div>
  );
}

export function Checkboxes(props: FieldProps & { values: string[]; options: [string, string][] }) {
  const { name, label, values, options } = props;
  return (
    <fieldset class="field" {...described(name, props.errors, props.hint)}>
      <legend>{label}</legend>
      {options.map(([v, text]) => (
        <label class="check">
          <input type="checkbox" name={name} value={v} checked={values.includes(v)} /> {text}
        </label>
      ))}
      <Extras {...props} />
    </fieldset>
  );
}

/** Lists every error at the top of a form, linked to its field (and all errors that belong to none). */
export function ErrorSummary({ errors, labels }: { errors: FieldErrors; labels: Record<string, string> }) {
  const entries = Object.entries(errors);
  if (entries.length === 0) return null;
  return (
    <div class="error-summary" role="alert" tabindex={-1}>
      <h2>There is a problem</h2>
      <ul>
        {entries.map(([field, messages]) =>
          field && labels[field] ? (
            <li>
              <a href={`#${field}`}>{labels[field]}</a>: {messages.join('; ')}
            </li>
          ) : (
            messages.map((m) => <li>{m}</li>)
          ),
        )}
      </ul>
    </div>
  );
}

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

export function Section({ title, children, id }: { title: string; id?: string; children?: Child }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}
