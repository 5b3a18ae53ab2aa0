/* The popup body of a hot spot cell, shared by the analysis page and session mode: its
 * Gi* class and, for analysts, its count.  Text nodes only, never HTML. */
window.geoappHotspotPopup = function (props, labels, countLabel, fmt) {
  "use strict";
  var div = document.createElement("div");
  var strong = document.createElement("strong");
  strong.textContent = labels[props.gi_bin + 3];
  div.appendChild(strong);
  if (props.count !== null && props.count !== undefined) {
    div.appendChild(document.createElement("br"));
    div.appendChild(document.createTextNode(countLabel + ": " + fmt.format(props.count)));
  }
  return div;
};
