/**
 * A small fixed corpus with known answers for retrieval tests: 30 short documents on distinct
 * topics (a few in HTML/JSON/CSV to go through every parser) and 22 questions, each with the
 * key of the document that answers it. Questions are phrased as a user would ask, not copied
 * from the text.
 */

export type CorpusDoc = { key: string; fileName: string; content: string };
export type CorpusQuestion = { question: string; answer: string };

export const CORPUS: CorpusDoc[] = [
  {
    key: "sourdough",
    fileName: "sourdough-starter.md",
    content: `# Keeping a sourdough starter

Feed the starter once a day with equal weights of flour and water when it lives on the counter.
A refrigerated starter only needs feeding once a week. Discard about half before each feeding so
the jar does not overflow. A healthy starter doubles in volume within four to eight hours and smells
pleasantly sour; a layer of grey liquid called hooch means it is hungry.`,
  },
  {
    key: "bike-chain",
    fileName: "bicycle-chain.txt",
    content: `Lubricating a bicycle chain

Clean the chain with a degreaser and let it dry completely. Apply one drop of chain lube to each
roller while turning the pedals backwards, then wipe off the excess with a rag after a few minutes.
Wet lube suits rainy rides; dry lube attracts less dust in summer. Re-lube roughly every 150 to 300
kilometres or after riding in the rain. A squeaking drivetrain is the classic sign of a dry chain.`,
  },
  {
    key: "tomato-blight",
    fileName: "tomato-blight.md",
    content: `# Late blight on tomatoes

Late blight is caused by the water mould Phytophthora infestans, the same organism behind the Irish
potato famine. Symptoms are dark, greasy-looking patches on leaves and brown lesions on stems, with
white fuzzy growth underneath in humid weather. Remove and bag infected plants; never compost them.
Water at the base in the morning, space plants for airflow and choose resistant varieties.`,
  },
  {
    key: "kayak-roll",
    fileName: "kayak-roll.md",
    content: `# The kayak roll

A roll rights a capsized kayak without leaving the boat. The power comes from a hip snap: the paddler
rotates the boat upright with the knees and hips while the head stays in the water until last.
Lifting the head early is the most common mistake and sinks the roll. Practise in a pool with a
spotter, first with a float on the paddle blade.`,
  },
  {
    key: "espresso",
    fileName: "espresso.md",
    content: `# Dialing in espresso

A standard double shot uses about 18 grams of ground coffee and yields 36 grams of liquid in 25 to 30
seconds. If the shot runs fast and tastes sour, grind finer; if it runs slow and tastes bitter, grind
coarser. Tamp evenly with about fifteen kilograms of pressure. Water around 93 degrees Celsius suits
most medium roasts.`,
  },
  {
    key: "bees",
    fileName: "honeybee-swarming.html",
    content: `<html><head><title>Why honeybees swarm</title></head><body>
<h1>Why honeybees swarm</h1>
<p>Swarming is how a honeybee colony reproduces. When the hive becomes crowded the workers raise new
queens, and the old queen leaves with roughly half the workers to find a new home.</p>
<h2>Preventing swarms</h2>
<p>Beekeepers give the colony more space by adding boxes (supers), remove queen cells during spring
inspections, or split the hive artificially before the swarm impulse takes over.</p>
</body></html>`,
  },
  {
    key: "passport",
    fileName: "veloria-passport.md",
    content: `# Renewing a Velorian passport

Citizens of Veloria renew their passport online through the Civic Portal up to nine months before it
expires. Upload a recent photograph with a plain white background and pay the fee of 85 crowns.
The new passport arrives by registered mail within fifteen working days. Children under twelve must
renew in person at a consulate.`,
  },
  {
    key: "castling",
    fileName: "chess-castling.txt",
    content: `Castling in chess

Castling moves the king two squares towards a rook and places that rook on the square the king
crossed. It is only legal if neither piece has moved, no pieces stand between them, the king is not in
check, and the king does not pass through or land on a square attacked by an enemy piece. Kingside
castling is written O-O and queenside castling O-O-O.`,
  },
  {
    key: "solar",
    fileName: "solar-panels.md",
    content: `# Cleaning solar panels

Dust, pollen and bird droppings can cut a panel's output by several percent. Clean the panels early in
the morning when the glass is cool, using soft water and a non-abrasive brush; never use a pressure
washer, which can damage the seals. In rainy climates cleaning twice a year is usually enough.`,
  },
  {
    key: "cat-vaccines",
    fileName: "kitten-vaccines.md",
    content: `# Kitten vaccination schedule

Kittens receive their first core vaccine against feline panleukopenia, herpesvirus and calicivirus at
eight weeks of age, with boosters every three to four weeks until sixteen weeks. The rabies vaccine is
usually given at twelve to sixteen weeks. Adult cats need boosters every one to three years depending
on the vaccine and their lifestyle.`,
  },
  {
    key: "python-venv",
    fileName: "python-venv.md",
    content: `# Python virtual environments

Create an isolated environment with \`python -m venv .venv\` in the project folder. Activate it with
\`source .venv/bin/activate\` on Linux and macOS, or \`.venv\\Scripts\\activate\` on Windows. Packages
installed with pip then stay inside the project. Freeze the exact versions with
\`pip freeze > requirements.txt\` so others can reproduce the setup.`,
  },
  {
    key: "git-rebase",
    fileName: "git-rebase.md",
    content: `# Interactive rebase

Run \`git rebase -i HEAD~5\` to rewrite the last five commits. In the editor, change \`pick\` to
\`squash\` to fold a commit into the previous one, \`reword\` to edit its message, or \`drop\` to remove
it. Never rebase commits that others have already pulled from a shared branch; rewriting published
history forces everyone to recover their work.`,
  },
  {
    key: "knitting",
    fileName: "long-tail-cast-on.md",
    content: `# Long-tail cast-on

The long-tail cast-on makes an elastic, neat edge for knitting. Leave a tail about three times the
width of the piece, make a slip knot on the needle, then loop the tail over the thumb and the working
yarn over the index finger. Scoop under the thumb loop, over the finger strand and back through to form
each new stitch.`,
  },
  {
    key: "volcanoes",
    fileName: "volcano-types.md",
    content: `# Shield volcanoes and stratovolcanoes

Shield volcanoes such as Mauna Loa are broad with gentle slopes, built from runny basaltic lava that
flows far before cooling. Stratovolcanoes like Mount Fuji are steep cones of alternating ash and lava
layers; their sticky, gas-rich magma makes eruptions explosive.`,
  },
  {
    key: "oolong",
    fileName: "oolong-tea.md",
    content: `# Oolong tea

Oolong is a partially oxidised tea, somewhere between green and black tea. Leaves are bruised by rolling
and left to oxidise anywhere from ten to eighty percent before the process is stopped with heat.
Brew oolong at 90 to 95 degrees; many oolongs can be steeped five or more times.`,
  },
  {
    key: "marathon",
    fileName: "marathon-taper.md",
    content: `# Tapering before a marathon

In the final two to three weeks before race day, runners cut their weekly mileage by about a third,
then a half, while keeping some short fast sessions. The taper lets muscles repair and glycogen stores
fill up. Many runners feel sluggish and restless during the taper; that is normal.`,
  },
  {
    key: "aquarium",
    fileName: "aquarium-cycling.md",
    content: `# Cycling a new aquarium

Before adding fish, a tank must grow bacteria that turn toxic ammonia into nitrite and then into far less
harmful nitrate. This nitrogen cycle takes four to six weeks. Dose a little ammonia, test the water
every few days, and add fish only when ammonia and nitrite both read zero.`,
  },
  {
    key: "tannins",
    fileName: "wine-tannins.md",
    content: `# Tannins in wine

Tannins are polyphenols from grape skins, seeds and oak barrels. They create the drying, grippy feeling
on the gums that red wines like Cabernet Sauvignon and Nebbiolo are known for. Tannins soften with
bottle age and pair well with fatty foods such as steak.`,
  },
  {
    key: "tires",
    fileName: "tire-pressure.csv",
    content: `vehicle,front pressure,rear pressure,notes
Compact car,2.2 bar,2.1 bar,Check tyre pressure monthly when the tyres are cold
SUV,2.5 bar,2.6 bar,Add 0.2 bar when fully loaded or towing
Road bike,6.5 bar,7.0 bar,Heavier riders add pressure; wider tyres need less
`,
  },
  {
    key: "rust-borrow",
    fileName: "rust-ownership.md",
    content: `# Ownership and borrowing in Rust

Every value in Rust has a single owner, and the value is dropped when its owner goes out of scope. You
may have either one mutable reference or any number of immutable references at a time, never both.
The borrow checker enforces these rules at compile time, which prevents data races without a garbage
collector.`,
  },
  {
    key: "aperture",
    fileName: "aperture.md",
    content: `# Aperture and depth of field

The aperture is the opening in a lens, expressed as an f-number. A wide aperture such as f/1.8 gives a
shallow depth of field with a blurred background, ideal for portraits. A narrow aperture such as f/11
keeps both foreground and background sharp, which landscape photographers prefer.`,
  },
  {
    key: "compost",
    fileName: "composting.md",
    content: `# Balancing a compost heap

Aim for roughly three parts brown material (dry leaves, cardboard, straw) to one part green material
(grass clippings, vegetable scraps, coffee grounds). Too much green makes the heap slimy and smelly; too
much brown slows decomposition. Turn the pile every week or two to let air in.`,
  },
  {
    key: "sleep",
    fileName: "sleep-hygiene.md",
    content: `# Sleep hygiene

Go to bed and get up at the same time every day, even at weekends. Keep the bedroom dark, quiet and
cool, around 18 degrees. Avoid caffeine after early afternoon and screens in the last hour before bed,
because blue light delays the release of melatonin.`,
  },
  {
    key: "lighthouse",
    fileName: "cape-marrow-lighthouse.md",
    content: `# Cape Marrow lighthouse

The Cape Marrow lighthouse was first lit in 1874 after the schooner Merriweather ran aground on the
reef below. Its Fresnel lens, made in Paris, flashes white every twelve seconds and is visible for
twenty-two nautical miles. The last resident keeper, Agnes Tolliver, retired in 1969 when the light was
automated.`,
  },
  {
    key: "refunds",
    fileName: "refund-policy.html",
    content: `<!doctype html><html><head><title>Atelier Widgets refund policy</title></head><body>
<h1>Refund policy</h1>
<p>You can return any Atelier Widgets product within <strong>30 days</strong> of delivery for a full
refund. Items must be unused and in their original packaging.</p>
<h2>How to request a return</h2>
<p>Email support with your order number. We send a prepaid shipping label, and the refund reaches your
original payment method within five business days after the item arrives at our warehouse.</p>
</body></html>`,
  },
  {
    key: "wifi",
    fileName: "wifi-faq.json",
    content: JSON.stringify({
      title: "Home Wi-Fi FAQ",
      entries: [
        {
          question: "Which 2.4 GHz channel should I use?",
          answer:
            "Use channel 1, 6 or 11. In the 2.4 GHz band only these three channels do not overlap, so neighbouring networks on them interfere least.",
        },
        {
          question: "Why is 5 GHz faster but shorter range?",
          answer: "The 5 GHz band offers wider channels and less congestion, but higher frequencies pass through walls poorly.",
        },
      ],
    }),
  },
  {
    key: "origami",
    fileName: "origami-crane.md",
    content: `# Folding a paper crane

Start with a square sheet and fold it into a preliminary base, then a bird base by petal-folding both
sides. Narrow the lower flaps, inside-reverse-fold them upward to form the neck and tail, then reverse
fold one tip to make the head. Gently pull the wings apart to shape the body.`,
  },
  {
    key: "moon",
    fileName: "moon-phases.md",
    content: `# Phases of the Moon

The Moon takes about 29.5 days to go from new moon to new moon. Its phases come from how much of the
sunlit half we see from Earth, not from Earth's shadow. A waxing crescent appears in the evening sky
after sunset; a waning crescent rises shortly before dawn. Earth's shadow only matters during a lunar
eclipse.`,
  },
  {
    key: "pizza",
    fileName: "pizza-dough.md",
    content: `# Neapolitan pizza dough

Mix 1000 g of tipo 00 flour with 620 g of water (62 percent hydration), 28 g of salt and 2 g of fresh
yeast. Knead until smooth, let it rise in bulk for two hours, then shape 250 g balls and proof them for
six to eight hours. Bake at 450 degrees or more for about ninety seconds.`,
  },
  {
    key: "piano",
    fileName: "piano-tuning.jsonl",
    content: [
      JSON.stringify({ text: "Piano tuning: most pianos should be tuned once or twice a year, more often in their first year." }),
      JSON.stringify({ text: "Humidity swings make the soundboard swell and shrink, which pulls strings out of pitch." }),
      JSON.stringify({ text: "Tuners set the temperament from A440 using a tuning hammer on the pins and mutes between strings." }),
    ].join("\n"),
  },
];

export const QUESTIONS: CorpusQuestion[] = [
  { question: "How often should I feed my sourdough starter if I keep it in the fridge?", answer: "sourdough" },
  { question: "My bike drivetrain squeaks, how do I oil the chain?", answer: "bike-chain" },
  { question: "What causes dark greasy spots on tomato leaves?", answer: "tomato-blight" },
  { question: "Why does my kayak roll fail when I lift my head?", answer: "kayak-roll" },
  { question: "My espresso shot tastes sour and runs too fast, what should I change?", answer: "espresso" },
  { question: "Why do honeybees leave the hive with the old queen?", answer: "bees" },
  { question: "How much does it cost to renew a passport in Veloria?", answer: "passport" },
  { question: "Can I castle when my king is in check?", answer: "castling" },
  { question: "Is a pressure washer safe for cleaning solar panels?", answer: "solar" },
  { question: "At what age does a kitten get its rabies shot?", answer: "cat-vaccines" },
  { question: "How do I activate a venv on Windows?", answer: "python-venv" },
  { question: "How do I squash commits together with git?", answer: "git-rebase" },
  { question: "Why are stratovolcano eruptions explosive?", answer: "volcanoes" },
  { question: "What temperature should oolong be brewed at?", answer: "oolong" },
  { question: "How long does the nitrogen cycle take before adding fish to a tank?", answer: "aquarium" },
  { question: "What tire pressure for an SUV?", answer: "tires" },
  { question: "Who was the last keeper of the Cape Marrow light?", answer: "lighthouse" },
  { question: "How many days do I have to return a widget for a refund?", answer: "refunds" },
  { question: "Which wifi channels don't overlap on 2.4 GHz?", answer: "wifi" },
  { question: "How much water goes into Neapolitan pizza dough?", answer: "pizza" },
  { question: "What ratio of browns to greens for compost?", answer: "compost" },
  { question: "How often do pianos need tuning?", answer: "piano" },
];
