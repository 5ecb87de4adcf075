/** SQL migration files imported as text (esbuild's `text` loader when bundling the Worker). */
declare module '*.sql' {
  const text: string;
  export default text;
}
