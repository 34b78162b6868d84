// PPTX (PresentationML): the slides in presentation order, each one's text (DrawingML paragraphs, one per
// line: titles, bodies, tables, shapes) followed by its speaker notes; slides apart by a blank line. Runs
// in the extraction child only.
import { attr, DocumentFormatError, mainPart, relationshipId, TextSink, ZipPackage } from './package';

/** The DrawingML text of one slide or notes part into the sink. */
async function drawingText(pkg: ZipPackage, part: string, sink: TextSink): Promise<void> {
  let inText = 0;
  let slideNumber = 0;
  let line = '';
  const flush = (): void => {
    if (line.trim()) sink.push(`${line}\n`);
    line = '';
  };
  await pkg.walk(part, {
    open(name, attrs) {
      if (name === 't') inText++;
      else if (name === 'br') line += '\n';
      else if (name === 'tab') line += '\t';
      // the slide-number field a notes page (or footer) shows is not the slide's text
      else if (name === 'fld' && attr(attrs, 'type') === 'slidenum') slideNumber++;
    },
    close(name) {
      if (name === 't') inText--;
      else if (name === 'fld' && slideNumber) slideNumber--;
      else if (name === 'p') flush();
    },
    text(text) {
      if (!inText || slideNumber) return;
      line += text;
      sink.reserve(sink.length + line.length);
    },
  });
  flush();
}

/** The text of a .pptx: slide text and notes, at most `maxTextChars`. */
export async function pptxText(pkg: ZipPackage, maxTextChars: number): Promise<string> {
  const sink = new TextSink(maxTextChars);
  const presentation = await mainPart(pkg, 'ppt/presentation.xml');
  if (!pkg.has(presentation)) throw new DocumentFormatError('the presentation part is missing');
  const rels = await pkg.relationships(presentation);
  const slides: string[] = [];
  await pkg.walk(presentation, {
    open(name, attrs) {
      if (name !== 'sldId') return;
      const target = rels.get(relationshipId(attrs) ?? '')?.target;
      if (target && pkg.has(target)) slides.push(target);
    },
  });
  for (const slide of slides) {
    if (sink.length) sink.push('\n');
    await drawingText(pkg, slide, sink);
    for (const rel of (await pkg.relationships(slide)).values())
      if (rel.type.endsWith('/notesSlide') && pkg.has(rel.target)) await drawingText(pkg, rel.target, sink);
  }
  return sink.toString();
}
