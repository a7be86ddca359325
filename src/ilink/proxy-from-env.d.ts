/** The one function of `proxy-from-env` 2.1.0 we use (the package ships no types). */
declare module "proxy-from-env" {
  /** The proxy URL the environment sets for `url` (`*_PROXY`, `NO_PROXY`), or "" for none. */
  export function getProxyForUrl(url: string | URL): string
}
