/**
 * JavaScript read by its syntax rather than by its text: what a module loads, and where a name is
 * used, whatever the indentation, quotes and line breaks of the file. The supply-chain tests read a
 * dependency's source and the bundle this way, so that a release that is only reformatted reads the
 * same, and one that uses a module or a method somewhere new does not.
 */
import ts from 'typescript'

export type Source = ts.SourceFile

export function parseJs(text: string): Source {
  return ts.createSourceFile('module.js', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
}

/** Every node under `root`, `root` included, in source order. */
function descendants(root: ts.Node): ts.Node[] {
  const out: ts.Node[] = []
  const visit = (node: ts.Node): void => {
    out.push(node)
    ts.forEachChild(node, visit)
  }
  visit(root)
  return out
}

/** The innermost named function or method around `node`; `(top level)` outside any. */
export function enclosingFunction(node: ts.Node): string {
  for (let at = node.parent; at; at = at.parent) {
    if (
      (ts.isMethodDeclaration(at) ||
        ts.isFunctionDeclaration(at) ||
        ts.isFunctionExpression(at) ||
        ts.isGetAccessorDeclaration(at) ||
        ts.isSetAccessorDeclaration(at)) &&
      at.name
    ) {
      return at.name.getText()
    }
  }
  return '(top level)'
}

/** The module a load names: its text when it is a string, `(computed)` when it is anything else. */
function moduleName(node: ts.Node | undefined): string {
  return node && ts.isStringLiteralLike(node) ? node.text : '(computed)'
}

/**
 * The modules `source` loads: `import … from`, `export … from`, `require(…)`, `import(…)` and
 * `createRequire(…)(…)`. A load whose module is not a string literal is `(computed)`.
 */
export function moduleLoads(source: Source): string[] {
  const loads: string[] = []
  for (const node of descendants(source)) {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      loads.push(moduleName(node.moduleSpecifier))
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require'
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword
      const isCreated =
        ts.isCallExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === 'createRequire'
      if (isRequire || isImport || isCreated) loads.push(moduleName(node.arguments[0]))
    }
  }
  return loads
}

/**
 * How `source` brings `module` in, one entry a way (`import { A }`, `import { A as B }`,
 * `import * as M`, `import D`, `require`, `import()`), and the local names it binds.
 */
export function importsOf(source: Source, module: string): { ways: string[]; names: string[] } {
  const ways: string[] = []
  const names: string[] = []
  for (const node of descendants(source)) {
    if (ts.isImportDeclaration(node) && moduleName(node.moduleSpecifier) === module) {
      const clause = node.importClause
      if (clause?.name) {
        ways.push(`import ${clause.name.text}`)
        names.push(clause.name.text)
      }
      const bindings = clause?.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) {
        ways.push(`import * as ${bindings.name.text}`)
        names.push(bindings.name.text)
      } else if (bindings) {
        for (const element of bindings.elements) {
          const imported = element.propertyName?.getText() ?? element.name.text
          const local = element.name.text
          ways.push(`import { ${imported === local ? local : `${imported} as ${local}`} }`)
          names.push(local)
        }
      }
      if (!clause) ways.push('import (for its effects)')
    } else if (ts.isCallExpression(node) && moduleName(node.arguments[0]) === module) {
      const callee = node.expression
      if (ts.isIdentifier(callee) && callee.text === 'require') ways.push('require')
      else if (callee.kind === ts.SyntaxKind.ImportKeyword) ways.push('import()')
    }
  }
  return { ways, names }
}

/**
 * Every use of the local names `names` outside the import that binds them, as `new X in f` for a
 * construction and `X in f` for any other use, `f` being the function or method around it.
 */
export function usesOf(source: Source, names: string[]): string[] {
  const uses: string[] = []
  for (const node of descendants(source)) {
    if (!ts.isIdentifier(node) || !names.includes(node.text)) continue
    if (findAncestor(node, ts.isImportDeclaration)) continue
    const parent = node.parent
    // `x.ProxyAgent` and `{ ProxyAgent: 1 }` name a property, not the binding; `class ProxyAgent`
    // (the bundle's stand-in) declares a name, it does not use one.
    if (ts.isPropertyAccessExpression(parent) && parent.name === node) continue
    if (ts.isPropertyAssignment(parent) && parent.name === node) continue
    if (
      (ts.isClassDeclaration(parent) ||
        ts.isFunctionDeclaration(parent) ||
        ts.isVariableDeclaration(parent)) &&
      parent.name === node
    )
      continue
    const built = ts.isNewExpression(parent) && parent.expression === node
    uses.push(`${built ? 'new ' : ''}${node.text} in ${enclosingFunction(node)}`)
  }
  return uses
}

/**
 * Where the method `method` is called, as the name of the function around each call; any other
 * mention of it but its definition (taken as a value, named in a string) as `mentioned in f`.
 */
export function callersOf(source: Source, method: string): string[] {
  const callers: string[] = []
  for (const node of descendants(source)) {
    const named =
      ((ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) && node.text === method) ||
      (ts.isStringLiteralLike(node) && node.text === method)
    if (!named) continue
    const parent = node.parent
    if (
      (ts.isMethodDeclaration(parent) || ts.isFunctionDeclaration(parent)) &&
      parent.name === node
    )
      continue
    const member =
      (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
      (ts.isElementAccessExpression(parent) && parent.argumentExpression === node)
    const target = member ? parent : node
    const called = ts.isCallExpression(target.parent) && target.parent.expression === target
    callers.push(called ? enclosingFunction(node) : `mentioned in ${enclosingFunction(node)}`)
  }
  return callers
}

function findAncestor(node: ts.Node, test: (n: ts.Node) => boolean): ts.Node | undefined {
  for (let at = node.parent; at; at = at.parent) if (test(at)) return at
  return undefined
}
