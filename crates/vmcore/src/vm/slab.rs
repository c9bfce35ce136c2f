//! A slab of objects addressed by small integer ids; freed ids are reused
//! last-freed-first, which keeps runs deterministic and O(1).

#[derive(Clone, Debug)]
pub struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, v: T) -> u32 {
        self.live += 1;
        if let Some(id) = self.free.pop() {
            self.items[id as usize] = Some(v);
            id
        } else {
            self.items.push(Some(v));
            (self.items.len() - 1) as u32
        }
    }
    /// The id the next `insert` will return.
    pub fn next_id(&self) -> u32 {
        match self.free.last() {
            Some(&id) => id,
            None => self.items.len() as u32,
        }
    }
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let v = self.items.get_mut(id as usize)?.take();
        if v.is_some() {
            self.live -= 1;
            self.free.push(id);
        }
        v
    }
    pub fn get(&self, id: u32) -> Option<&T> {
        self.items.get(id as usize)?.as_ref()
    }
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.items.get_mut(id as usize)?.as_mut()
    }
    pub fn len(&self) -> usize {
        self.live
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u32, v)))
    }
}
