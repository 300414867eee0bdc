/* patchmortem HTML report: draws the timeline from the JSON block, wires the zoom buttons and keeps the
   trigger / last-good / onset labels readable: each has its own row (set in Python), and here it turns toward
   the inside of the plot (left of its line in the right half, right of it in the left half) and hides while
   its line is out of view.
   Evidence only ever reaches the page as data: textContent and Bokeh's escaped tooltips, never innerHTML. */
(function () {
  'use strict';
  var plot = document.getElementById('timeline-plot');
  function fail(reason) {
    plot.setAttribute('data-rendered', 'error');
    plot.textContent = 'The timeline plot could not be drawn (' + reason + '); the tables below hold the same facts.';
  }
  var item;
  try {
    item = JSON.parse(document.getElementById('timeline-data').textContent);
  } catch (err) {
    fail('bad plot data');
    return;
  }
  if (typeof Bokeh === 'undefined' || !Bokeh.embed) {
    fail('BokehJS missing');
    return;
  }
  Bokeh.embed.embed_item(item, 'timeline-plot').then(function () {
    var doc = Bokeh.documents[Bokeh.documents.length - 1];
    var range = doc.get_model_by_name('timeline-x');
    var labels = [];
    for (var i = 0; ; i++) {
      var label = doc.get_model_by_name('timeline-marker-' + i);
      if (!label) { break; }
      labels.push(label);
    }
    function placeLabels() {
      var start = range.start, end = range.end, width = end - start;
      labels.forEach(function (label) {
        var inside = width > 0 && label.x >= start && label.x <= end;
        var left = inside && (label.x - start) / width < 0.5;
        label.setv({visible: inside, text_align: left ? 'left' : 'right', x_offset: left ? 5 : -5});
      });
    }
    range.connect(range.change, placeLabels);
    placeLabels();
    var buttons = document.querySelectorAll('.zoom button');
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener('click', function () {
        range.setv({start: Number(button.dataset.start), end: Number(button.dataset.end)});
        Array.prototype.forEach.call(buttons, function (b) { b.classList.toggle('active', b === button); });
      });
    });
    // Two frames: Bokeh paints on the next animation frame after the views are built.
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () { plot.setAttribute('data-rendered', 'true'); });
    });
  }, function () { fail('BokehJS error'); });
})();
