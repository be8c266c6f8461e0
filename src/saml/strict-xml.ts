/**
 * Strict XML reading for SAML messages and metadata: no DTDs at all (entity expansion and
 * external entities are refused before any parser sees the text), every parser complaint is
 * fatal, and small namespace-aware DOM accessors so callers never match on prefixes.
 */
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';

export type XmlProblem = 'doctype' | 'not_xml';

/** Builds the caller's own typed error for a refused document. */
export type XmlRefusal = (problem: XmlProblem, message: string, cause?: unknown) => Error;

/** Any markup declaration (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, ...); comments and CDATA are fine. */
const MARKUP_DECLARATION = /<!(?!--|\[CDATA\[)/;

export function parseStrictXml(text: string, refuse: XmlRefusal): Document {
  if (MARKUP_DECLARATION.test(text)) {
    throw refuse('doctype', 'contains a DOCTYPE or other markup declaration; these are refused to rule out entity attacks');
  }
  let document: Document;
  try {
    document = new DOMParser({
      locator: false,
      onError: (level, message) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    throw refuse('not_xml', `is not well-formed XML (${error instanceof Error ? error.message : String(error)})`, error);
  }
  if (document.documentElement === null) {
    throw refuse('not_xml', 'has no root element');
  }
  return document;
}

export function rootElement(document: Document): Element {
  const root = document.documentElement;
  if (root === null) throw new TypeError('parsed document without root element');
  return root;
}

export function isElement(node: Element, namespace: string, localName: string): boolean {
  return node.namespaceURI === namespace && node.localName === localName;
}

/** Direct children with this namespace and local name, in document order. */
export function childElements(parent: Element, namespace: string, localName: string): Element[] {
  return Array.from(parent.children).filter((child) => isElement(child, namespace, localName));
}

/** All elements below `parent` (any depth) with this namespace and local name. */
export function descendantElements(parent: Element | Document, namespace: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(namespace, localName));
}

/** The value of an unqualified attribute, or undefined when absent. */
export function attribute(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? (element.getAttribute(name) ?? undefined) : undefined;
}

/** Text content, trimmed (SAML values never carry meaningful outer whitespace). */
export function textOf(element: Element): string {
  return (element.textContent ?? '').trim();
}
