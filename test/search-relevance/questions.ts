/**
 * Natural-language questions about the Python library reference (Debian's python3-doc, see corpus.ts), written
 * by hand for the relevance benchmark's `question` style (issue 22). Each is phrased the way someone who does
 * not know the module's name asks, and avoids the page's own key terms where that is natural: "keep a list
 * sorted while inserting new items" is answered by `bisect`, a word the question does not hold. Known-item
 * queries (queries.ts) measure whether search finds words that are in a document; these measure whether it
 * finds the document that answers a question.
 *
 * `targets` are corpus keys (the upload filename, `library/bisect.html` → `library__bisect.html`) of every page
 * that answers the question on its own; a question is scored by the best-ranked of them (MRR@10, Recall@10).
 * A second target is listed only where another page genuinely answers too (a HOWTO on the same subject, the
 * module a reader would equally use) — never a page that merely mentions the topic.
 *
 * Questions avoid the query syntax: no word starting with `-`, no upper-case `OR`, no quotes.
 */
export interface Question {
  /** Short stable name, for reports (`bisect-insert`). */
  id: string;
  question: string;
  /** Corpus keys of the pages that answer it (at least one). */
  targets: string[];
}

const lib = (module: string): string => `library__${module}.html`;
const howto = (page: string): string => `howto__${page}.html`;

export const QUESTIONS: readonly Question[] = [
  // data structures and algorithms
  { id: 'bisect-insert', question: 'keep a list sorted while inserting new items', targets: [lib('bisect')] },
  {
    id: 'heapq-largest',
    question: 'get the five biggest values from a huge list without sorting all of it',
    targets: [lib('heapq')],
  },
  {
    id: 'collections-count',
    question: 'count how many times each word appears in a text',
    targets: [lib('collections')],
  },
  {
    id: 'copy-nested',
    question: 'make an independent copy of a nested list so changing one does not change the other',
    targets: [lib('copy')],
  },
  {
    id: 'itertools-pairs',
    question: 'loop over every possible pair of items from a list without writing nested loops',
    targets: [lib('itertools')],
  },
  {
    id: 'graphlib-order',
    question: 'work out an order to run build steps so each one comes after the steps it depends on',
    targets: [lib('graphlib')],
  },
  {
    id: 'sorting-two-fields',
    question: 'sort a list of records by last name and then by age',
    targets: [howto('sorting'), lib('operator')],
  },
  {
    id: 'weakref-cache',
    question: 'a cache that does not keep objects alive once nothing else uses them',
    targets: [lib('weakref')],
  },
  {
    id: 'queue-threads',
    question: 'hand work items from one thread to several worker threads safely, first in first out',
    targets: [lib('queue')],
  },
  // numbers
  { id: 'fractions-third', question: 'exact rational numbers like one third', targets: [lib('fractions')] },
  {
    id: 'decimal-money',
    question: 'add up prices in dollars and cents without floating point rounding surprises',
    targets: [lib('decimal')],
  },
  {
    id: 'statistics-spread',
    question: 'average and standard deviation of a list of measurements',
    targets: [lib('statistics')],
  },
  {
    id: 'cmath-negative-root',
    question: 'square root of a negative number giving an imaginary result',
    targets: [lib('cmath')],
  },
  {
    id: 'random-shuffle',
    question: 'shuffle a deck of cards and deal a hand at random',
    targets: [lib('random')],
  },
  // text
  {
    id: 'difflib-changes',
    question: 'show which lines changed between two versions of a text file',
    targets: [lib('difflib')],
  },
  {
    id: 'difflib-suggest',
    question: 'suggest the closest valid command when the user mistypes one',
    targets: [lib('difflib')],
  },
  {
    id: 'textwrap-width',
    question: 'break a long paragraph into lines of at most 70 characters',
    targets: [lib('textwrap')],
  },
  {
    id: 're-phone-numbers',
    question: 'pull every phone number out of a block of text with a pattern',
    targets: [lib('re'), howto('regex')],
  },
  {
    id: 'shlex-split',
    question:
      'split a command line string into arguments the way a unix shell would, keeping quoted parts together',
    targets: [lib('shlex')],
  },
  {
    id: 'html-escape',
    question:
      'turn angle brackets and ampersands in user input into safe entities before putting it in a web page',
    targets: [lib('html')],
  },
  {
    id: 'gettext-translate',
    question: 'show my program’s messages in the user’s own language',
    targets: [lib('gettext')],
  },
  // dates and times
  {
    id: 'datetime-add-days',
    question: 'what date is it 90 days from today',
    targets: [lib('datetime')],
  },
  {
    id: 'zoneinfo-new-york',
    question: 'convert a meeting time to what the clock shows in New York, daylight saving included',
    targets: [lib('zoneinfo')],
  },
  {
    id: 'timeit-snippet',
    question: 'find out how long a small snippet of code takes to run, averaged over many runs',
    targets: [lib('timeit')],
  },
  // files and data formats
  {
    id: 'glob-recursive',
    question: 'find every .txt file in a folder and all of its subfolders',
    targets: [lib('glob'), lib('pathlib')],
  },
  {
    id: 'shutil-copy-tree',
    question: 'copy a whole directory with everything inside it to another place',
    targets: [lib('shutil')],
  },
  {
    id: 'tempfile-scratch',
    question: 'a scratch file that disappears by itself once I am done with it',
    targets: [lib('tempfile')],
  },
  {
    id: 'tarfile-extract',
    question: 'unpack a downloaded .tar.gz archive',
    targets: [lib('tarfile')],
  },
  {
    id: 'csv-spreadsheet',
    question: 'read rows from a spreadsheet exported as comma separated values',
    targets: [lib('csv')],
  },
  {
    id: 'configparser-sections',
    question: 'read a settings file made of [sections] with key = value lines',
    targets: [lib('configparser')],
  },
  {
    id: 'pickle-save-object',
    question: 'save an arbitrary Python object to disk and load it back in a later run',
    targets: [lib('pickle'), lib('shelve')],
  },
  {
    id: 'struct-binary-layout',
    question:
      'read a binary file header made of fixed size integer fields laid out the way a C program writes them',
    targets: [lib('struct')],
  },
  {
    id: 'base64-text',
    question: 'turn raw bytes into plain ASCII text so they can travel inside JSON or an email',
    targets: [lib('base64')],
  },
  {
    id: 'sqlite-local-db',
    question: 'keep records in a small database stored in a single file and query them with SQL',
    targets: [lib('sqlite3')],
  },
  {
    id: 'mmap-huge-file',
    question: 'treat a very large file as a byte array without reading all of it into memory',
    targets: [lib('mmap')],
  },
  // processes, concurrency, the operating system
  {
    id: 'subprocess-capture',
    question: 'run an external program and capture what it prints',
    targets: [lib('subprocess')],
  },
  {
    id: 'multiprocessing-cores',
    question: 'spread a CPU heavy calculation over all the cores of my machine',
    targets: [lib('multiprocessing'), lib('concurrent.futures')],
  },
  {
    id: 'asyncio-gather',
    question: 'start several coroutines at once and wait until all of them have finished',
    targets: [lib('asyncio-task')],
  },
  {
    id: 'threading-lock',
    question: 'stop two threads from updating the same counter at the same time',
    targets: [lib('threading')],
  },
  {
    id: 'signal-terminate',
    question: 'clean up when the operating system asks my process to terminate',
    targets: [lib('signal')],
  },
  {
    id: 'atexit-cleanup',
    question: 'call a function automatically when the interpreter is shutting down',
    targets: [lib('atexit')],
  },
  {
    id: 'getpass-hidden',
    question: 'ask the user to type a password without showing it on the screen',
    targets: [lib('getpass')],
  },
  {
    id: 'venv-isolated',
    question: 'give each project its own separate set of installed packages',
    targets: [lib('venv')],
  },
  // networking and the web
  {
    id: 'urllib-download',
    question: 'download a web page over HTTP with nothing but the standard library',
    targets: [lib('urllib.request'), howto('urllib2')],
  },
  {
    id: 'http-server-folder',
    question: 'quickly share the files in the current folder so a browser on the network can open them',
    targets: [lib('http.server')],
  },
  {
    id: 'urlparse-parts',
    question: 'get the host name and query string out of a link',
    targets: [lib('urllib.parse')],
  },
  {
    id: 'smtplib-send',
    question: 'send an email with a file attached through my company’s mail server',
    targets: [lib('smtplib'), lib('email.examples')],
  },
  {
    id: 'ipaddress-subnet',
    question: 'check whether an IP address falls inside a given subnet',
    targets: [lib('ipaddress'), howto('ipaddress')],
  },
  {
    id: 'selectors-many-sockets',
    question: 'wait on many network connections at once and handle whichever one has data ready',
    targets: [lib('selectors'), lib('select')],
  },
  // security
  {
    id: 'secrets-token',
    question: 'generate an unguessable token for a password reset link',
    targets: [lib('secrets')],
  },
  {
    id: 'hashlib-fingerprint',
    question: 'compute a fingerprint of a file to detect whether it has been modified',
    targets: [lib('hashlib')],
  },
  {
    id: 'hmac-shared-key',
    question: 'verify that a message really came from someone who shares a secret key with me',
    targets: [lib('hmac')],
  },
  {
    id: 'uuid-ids',
    question: 'create identifiers for records that are unique without a central counter',
    targets: [lib('uuid')],
  },
  // the language, classes and typing
  {
    id: 'dataclasses-boilerplate',
    question: 'avoid writing __init__ and __repr__ by hand for a class that just holds some fields',
    targets: [lib('dataclasses')],
  },
  {
    id: 'enum-constants',
    question: 'give readable names to a fixed set of related constant values like colours or states',
    targets: [lib('enum'), howto('enum')],
  },
  {
    id: 'abc-interface',
    question: 'declare a base class whose methods every subclass has to implement',
    targets: [lib('abc')],
  },
  {
    id: 'typing-hints',
    question: 'annotate that a function takes a list of strings and may return None',
    targets: [lib('typing')],
  },
  {
    id: 'functools-memoize',
    question:
      'remember the results of an expensive function so repeated calls with the same arguments are instant',
    targets: [lib('functools')],
  },
  {
    id: 'contextlib-with',
    question: 'write my own helper for the with statement using a generator',
    targets: [lib('contextlib')],
  },
  // debugging, testing, profiling
  {
    id: 'profile-slow',
    question: 'find out which functions make my program slow',
    targets: [lib('profile')],
  },
  {
    id: 'tracemalloc-leak',
    question: 'track down which lines of my program allocate the most memory',
    targets: [lib('tracemalloc')],
  },
  {
    id: 'pdb-step',
    question: 'pause my program and step through it line by line to find a bug',
    targets: [lib('pdb')],
  },
  {
    id: 'mock-network',
    question: 'replace a function that calls a remote service with a fake one during a test',
    targets: [lib('unittest.mock'), lib('unittest.mock-examples')],
  },
  {
    id: 'doctest-examples',
    question: 'check that the usage examples written in my docstrings still give the output shown',
    targets: [lib('doctest')],
  },
  {
    id: 'logging-levels',
    question: 'write diagnostic messages with severity levels to a file instead of using print',
    targets: [lib('logging'), howto('logging')],
  },
  {
    id: 'pprint-nested',
    question: 'display a deeply nested dictionary in a readable indented layout',
    targets: [lib('pprint')],
  },
  // the rest of the standard library
  {
    id: 'argparse-flags',
    question:
      'accept options and flags when my script is started from the terminal, with automatic help text',
    targets: [lib('argparse'), howto('argparse')],
  },
  {
    id: 'importlib-metadata-version',
    question: 'find out which version of an installed package is present at run time',
    targets: [lib('importlib.metadata')],
  },
  {
    id: 'colorsys-hsv',
    question: 'convert a colour between red green blue and hue saturation value',
    targets: [lib('colorsys')],
  },
  {
    id: 'turtle-drawing',
    question: 'draw shapes on screen by moving a pen around, for teaching children to program',
    targets: [lib('turtle')],
  },
];
