"use strict";
// Starts Swagger UI (Vigil's own copy) on the API docs page; the document's address is on
// the page, so no inline script is needed.
const box = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: box.dataset.openapi, domNode: box, deepLinking: true });
