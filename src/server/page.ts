/** The single page: the built app (assets/app.js, assets/app.css) on a bare document. */
export function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>isfdb viewer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<div id="app">loading...</div>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
}
